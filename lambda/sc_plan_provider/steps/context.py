"""What every step shares: the Environment a route runs in (the Service Catalog edge, the provider's
records, time, and what this request claimed or left behind so far) and the Answer it gives (the
physical id and the attributes a stack reads with Fn::GetAtt).

The Environment is built by the handler once per request (handler.py wires the real edges; tests
pass their own). Every attribute is a string, as CloudFormation passes them; the ids, the record
and the change summary are always there, the product's outputs follow as `Outputs.<key>`
(runtime/delivery.py keeps the body within CloudFormation's 4096 bytes).
"""

from __future__ import annotations

import time
from types import MappingProxyType
from typing import TYPE_CHECKING

from sc_plan_provider.core.request import ResourceFailure
from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.core.value import Value
from sc_plan_provider.properties.resource import (
    CATALOG_IDS,
    CHANGES_ADD,
    CHANGES_MODIFY,
    CHANGES_REMOVE,
    CHANGES_REPLACE,
    OUTPUT_PREFIX,
    OUTPUTS_LEFT_OUT,
    PLAN_ID,
    PROVISIONED_PRODUCT_ID,
    RECORD_ID,
    PlanProperties,
)
from sc_plan_provider.records.owners import AppliedPlan, OwnershipUnavailableError
from sc_plan_provider.waiting.deadline import Deadline
from sc_plan_provider.waiting.waiter import Sleep, real_sleep

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sc_plan_provider.core.request import PlanRequest
    from sc_plan_provider.records.ports import Ledger, OwnerRegistry
    from sc_plan_provider.servicecatalog.calls import ServiceCatalog
    from sc_plan_provider.servicecatalog.shapes import ChangeSummary, Record


# CloudFormation shows the reason in stack events; a long one would crowd out the data.
MAX_REASON_CHARS = 1000


class Answer(Value):
    physical_resource_id: str
    data: Mapping[str, str] = MappingProxyType({})
    no_echo: bool = False  # CloudFormation masks `data` in stack events and DescribeStackResources


def summary_data(summary: ChangeSummary) -> dict[str, str]:
    """The change summary as attributes."""
    return {
        CHANGES_ADD: str(summary.add),
        CHANGES_MODIFY: str(summary.modify),
        CHANGES_REMOVE: str(summary.remove),
        CHANGES_REPLACE: str(summary.replace),
    }


def answer_data(
    product_id: str, record: Record, outputs: list[tuple[str, str]], summary: ChangeSummary
) -> dict[str, str]:
    """Every attribute of a product after `record`: ids, the change summary, then every output."""
    data = {
        PROVISIONED_PRODUCT_ID: product_id,
        RECORD_ID: record.record_id,
        **summary_data(summary),
        OUTPUTS_LEFT_OUT: "",
    }
    ids = (record.product_id, record.provisioning_artifact_id, record.path_id)
    data.update((key, value) for key, value in zip(CATALOG_IDS, ids, strict=True) if value)
    data.update((f"{OUTPUT_PREFIX}{key}", value) for key, value in outputs)
    return data


class Environment:
    """A plain class: it is built once per request, and defaults like `time.time()` must be taken then."""

    def __init__(
        self,
        service_catalog: Callable[[str | None], ServiceCatalog],
        function_deadline: Deadline,
        *,
        owners: OwnerRegistry,
        ledger: Ledger,
        function_arn: str = "",  # the provider's own ARN: its account and Region are the only ones it serves
        first_seen: float | None = None,  # epoch seconds of the request's first arrival
        on_product: Callable[[str], None] = lambda _product_id: None,
        may_act: Callable[[PlanRequest], bool] | None = None,
        rolling_back: Callable[[PlanRequest], bool] = lambda _request: False,
        sleep: Sleep = real_sleep,
    ) -> None:
        self.service_catalog = service_catalog
        self.function_deadline = function_deadline
        self.function_arn = function_arn
        self.owners = owners
        self.ledger = ledger
        self.first_seen = first_seen if first_seen is not None else time.time()
        self.on_product = on_product
        self._may_act = may_act
        # Whether the request's stack is rolling back (CloudFormation does not mark a rollback's
        # Update): asked only about an Update with a property the provider does not read.
        self.rolling_back = rolling_back
        self.sleep = sleep
        self.new_claims: list[str] = []  # products this request claimed (released if it fails without them)
        self.abandoned: set[str] = set()  # products this request created but could not remove (claims kept)

    def may_act(self, request: PlanRequest) -> bool:
        """Whether the request may still change anything: not answered, not superseded."""
        if self._may_act is not None:
            return self._may_act(request)
        return self.ledger.may_act(request)

    def superseded(self, request: PlanRequest) -> bool:
        """Whether CloudFormation moved on from the request (a later request of the resource arrived);
        an answer sent meanwhile (by a duplicate delivery) is no reason to undo anything."""
        try:
            return self.ledger.superseded(request)
        except Exception:  # without the ledger nothing can be known: keep what was done
            logger.exception("Request ledger unavailable; not checking for a later request")
            return False

    def applied_plan(self, plan_id: str) -> AppliedPlan | None:
        """The provider's record of a plan's execution; a failure naming the table when it cannot be read."""
        try:
            return self.owners.applied_plan(plan_id)
        except OwnershipUnavailableError as error:
            raise ResourceFailure(
                f"Could not read the provider's record of {PLAN_ID} {plan_id} ({error}); nothing was changed. "
                "Retry the deployment once the provider's owners table is reachable."
            ) from error


def request_deadline(properties: PlanProperties, env: Environment) -> Deadline:
    """The request's own deadline counts from its first arrival, across continuations."""
    own = Deadline.at_epoch(env.first_seen + properties.deadline_seconds, properties.deadline_reason())
    return own.earliest(env.function_deadline)
