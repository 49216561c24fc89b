"""The deputy's owner checks, on a registry whose table does not always answer."""

from __future__ import annotations

import pytest

from sc_plan_provider.core.request import PlanRequest, ResourceFailure
from sc_plan_provider.records.owners import Owner, OwnershipUnavailableError
from sc_plan_provider.records.owners import OwnerClaim as Claim
from sc_plan_provider.steps.deputy import require_owner
from sc_plan_provider.waiting.deadline import Deadline
from support.cfn_requests import make_event


class FlakyRegistry:
    """Refuses the first `failures` claims as a throttled table would, then records the claimant."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def claim(self, provisioned_product_id: str, owner: Owner, request_key: str) -> Claim:
        self.calls += 1
        if self.calls <= self.failures:
            raise OwnershipUnavailableError("ThrottlingException")
        return Claim(owner=owner, new=True)


def _delete() -> PlanRequest:
    return PlanRequest.from_event(make_event("Delete", {"PlanId": "p"}, physical_id="pp-1"))


def test_a_delete_keeps_trying_an_owners_table_that_does_not_answer() -> None:
    registry = FlakyRegistry(failures=3)
    slept: list[float] = []
    claimed = require_owner(
        registry,  # type: ignore[arg-type]
        "pp-1",
        _delete(),
        action="terminate",
        failed_id="pp-1",
        patience=Deadline.after(600, "ServiceTimeout"),
        sleep=slept.append,
    )
    assert claimed and registry.calls == 4
    assert slept == [0.5, 1.0, 2.0]


def test_without_patience_an_owners_table_that_does_not_answer_is_a_clear_failure() -> None:
    registry = FlakyRegistry(failures=1)
    with pytest.raises(ResourceFailure, match="nothing was changed"):
        require_owner(  # type: ignore[arg-type]
            registry, "pp-1", _delete(), action="terminate", failed_id="pp-1", sleep=lambda _s: None
        )
    assert registry.calls == 1
