"""The two ports to the provider's records, for type checking only: nothing imports this at run time.

`OwnerRegistry` (owners.py, in_process.py) keeps who owns each provisioned product and what each
plan gave it; `Ledger` (ledger.py, in_process.py) keeps each request's first arrival, its
one answer and whether it may still act. Kept apart so that their many signatures cost a cold start
nothing (they would be compiled at every start though only mypy reads them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sc_plan_provider.core.request import PlanRequest
    from sc_plan_provider.records.ledger import Arrival, ClaimedAnswer
    from sc_plan_provider.records.owners import AppliedPlan, Owner, OwnerClaim


class OwnerRegistry(Protocol):
    def owner(self, provisioned_product_id: str) -> Owner | None:
        """The owner on record, None when the product has none."""
        ...

    def claim(self, provisioned_product_id: str, owner: Owner, request_key: str) -> OwnerClaim:
        """Record `owner` unless another owner is on record; the owner on record after the call."""
        ...

    def terminated(self, provisioned_product_id: str, owner: Owner) -> None:
        """The product is gone: let its record expire (after any retry of the Delete could ask)."""
        ...

    def spec_applied(self, provisioned_product_id: str, owner: Owner, digest: str) -> None:
        """The owner's product now runs the spec with this digest (spec mode)."""
        ...

    def applied_specs(self, provisioned_product_id: str) -> frozenset[str]:
        """Digests of every spec ever applied to the product; empty when none is on record."""
        ...

    def intend_to_execute(self, applied: AppliedPlan) -> AppliedPlan:
        """Record, before executing, what the plan gives its product and who executes it.

        Returns the record on file after the call: `applied` itself, or the record of the request
        that executed the plan already (an intent without a record is taken over: it never executed).
        """
        ...

    def executed(self, plan_id: str, request_key: str, record_id: str, executed_at: float | None) -> None:
        """The execution's record, once ExecuteProvisionedProductPlan answered."""
        ...

    def applied_plan(self, plan_id: str) -> AppliedPlan | None:
        """The record of a plan's execution, None when the provider never executed it."""
        ...


class Ledger(Protocol):
    durable: bool

    def arrive(self, request: PlanRequest, holder: str, first_seen: float | None = None, digest: str = "") -> Arrival:
        """Record the request's arrival (only once CloudFormation confirmed it); `first_seen` is the
        anchor a continuation carries or CloudFormation's signing time; `digest` the event's
        fingerprint, kept from the first arrival."""
        ...

    def event_digest(self, request: PlanRequest) -> str | None:
        """The fingerprint of the event this request first arrived with; None before it arrived."""
        ...

    def claim_answer(self, request: PlanRequest, holder: str, body: str) -> ClaimedAnswer:
        """Claim the answer with its body. A claim is never given back: a failed delivery is handed
        on (or retried by Lambda) under the same holder, which re-sends the recorded body."""
        ...

    def answered(self, request: PlanRequest) -> None: ...

    def may_act(self, request: PlanRequest, holder: str = "") -> bool:
        """Not answered (nor being answered, unless by `holder` itself: Lambda's retry of the
        invocation that was killed while answering redoes its work), and still the latest request
        of its resource."""
        ...

    def superseded(self, request: PlanRequest) -> bool:
        """A later request of the same resource arrived and nobody answered this one: CloudFormation
        moved on without it. An answered request (its duplicate delivery answered) is never superseded."""
        ...

    def handed_over(self, request: PlanRequest, hop: int) -> None:
        """Record that the request was handed over to continuation `hop` (kept if a later one was)."""
        ...

    def start_cleanup(self, request: PlanRequest, provisioned_product_id: str) -> None: ...

    def cleanup_of(self, request: PlanRequest) -> str | None: ...

    def terminating(self, request: PlanRequest, provisioned_product_id: str, record_id: str) -> None:
        """Record the terminate record this request started: a later hop that finds the product gone
        believes that record's success instead of reads seconds apart (which may not fit one hop)."""
        ...

    def terminate_record(self, request: PlanRequest, provisioned_product_id: str) -> str | None:
        """The terminate record this request started for the product, if recorded."""
        ...


class Leftovers(Protocol):
    """What failed requests give back and leave to remove (leftovers.py; the in-process registry)."""

    def release(self, provisioned_product_id: str, owner: Owner, request_key: str) -> None:
        """Forget an owner that the request `request_key` recorded (and nothing else)."""
        ...

    def abandon(self, owner: Owner, provisioned_product_id: str) -> None:
        """`owner` created the product but could not remove it: its next request retries."""
        ...

    def abandoned(self, owner: Owner) -> frozenset[str]:
        """Products `owner` still has to remove."""
        ...

    def forget_abandoned(self, owner: Owner, provisioned_product_id: str) -> None:
        """The product was removed after all."""
        ...


class OwnerListing(Protocol):
    """The owner records of products not terminated (live_owners.py; the in-process registry)."""

    def owned(self, limit: int) -> list[tuple[str, Owner]]:
        """Up to `limit` (product id, owner) records of products the provider has not terminated."""
        ...


class ManagedListing(OwnerListing, Protocol):
    """What the drift check reads and a restore writes without a table (records/managed.py)."""

    def restored(self, plan_id: str, record_id: str) -> None:
        """The provider re-applied the plan to its product with this record."""
        ...

    def executed_plans(self) -> list[tuple[AppliedPlan, float, frozenset[str]]]:
        """Every plan the provider executed: its record, when last applied, its restores' records."""
        ...
