"""The provider acts only for the stacks that own what it touches (a shared provider is a deputy).

Two rules, both checked before the Service Catalog call they guard:
- a request must come from a stack in the function's own partition, account and Region;
- a provisioned product may be changed, re-applied or terminated only by the resource that owns
  it (records/owners.py); a product is claimed by the resource only when it is about to act on it
  (before its plan executes, before a re-application), never merely because a request named it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.request import PlanRequest, ResourceFailure
from sc_plan_provider.core.value import Value
from sc_plan_provider.records.ledger import request_key
from sc_plan_provider.records.owners import Owner, OwnerClaim, OwnershipUnavailableError
from sc_plan_provider.waiting.waiter import Sleep, call_until_answered

if TYPE_CHECKING:
    from sc_plan_provider.records.ports import OwnerRegistry
    from sc_plan_provider.steps.context import Environment
    from sc_plan_provider.waiting.deadline import Deadline

ARN_PARTS = 6  # arn:partition:service:region:account:resource


class Home(Value):
    """Partition, account and Region of an ARN."""

    partition: str
    region: str
    account: str

    @classmethod
    def of(cls, arn: str) -> Home | None:
        parts = arn.split(":", ARN_PARTS - 1)
        if len(parts) != ARN_PARTS or parts[0] != "arn":
            return None
        return cls(partition=parts[1], region=parts[3], account=parts[4])

    def describe(self) -> str:
        return f"account {self.account} in Region {self.region} ({self.partition})"


def require_same_home(request: PlanRequest, function_arn: str, failed_id: str | None) -> None:
    """Refuse a stack from another account, Region or partition than the provider's own."""
    mine = Home.of(function_arn)
    theirs = Home.of(request.stack_id)
    if mine is None:  # never in Lambda; a caller without an ARN cannot be checked against one
        return
    if theirs != mine:
        where = theirs.describe() if theirs else f"an unrecognisable StackId {request.stack_id[:100]!r}"
        raise ResourceFailure(
            f"This provider serves only stacks in {mine.describe()}; the request came from {where}. "
            "Deploy the provider in that account and Region (docs/shared-provider.md) and "
            "use its ServiceToken there.",
            failed_id,
        )


def require_owner(
    registry: OwnerRegistry,
    provisioned_product_id: str,
    request: PlanRequest,
    *,
    action: str,
    failed_id: str | None,
    patience: Deadline | None = None,
    sleep: Sleep,
) -> bool:
    """Claim the product for the requesting resource, about to act on it, or refuse if another
    resource owns it. True when this call recorded the owner (a new claim).

    `patience`: while the owners table does not answer, keep trying until then (a Delete: a
    cleanup that fails is never retried by CloudFormation, and its product would be orphaned)."""
    me = Owner.of(request)

    def claim_product() -> OwnerClaim:
        return registry.claim(provisioned_product_id, me, request_key(request))

    try:
        if patience is None:
            claim = claim_product()
        else:
            # Past this invocation's time the Delete continues in a new one (nothing was changed yet).
            claim = call_until_answered(
                claim_product,
                what=f"the owner of provisioned product {provisioned_product_id}",
                deadline=patience,
                sleep=sleep,
                retry_on=OwnershipUnavailableError,
            )
    except OwnershipUnavailableError as error:
        raise _unavailable(provisioned_product_id, error, failed_id) from error
    if claim.owner != me:
        raise _refused(action, provisioned_product_id, claim.owner, me, failed_id)
    return claim.new


def check_owner(
    registry: OwnerRegistry,
    provisioned_product_id: str,
    request: PlanRequest,
    *,
    action: str,
    failed_id: str | None,
) -> Owner | None:
    """Refuse, without claiming anything, if another resource owns the product; the owner on record."""
    me = Owner.of(request)
    try:
        owner = registry.owner(provisioned_product_id)
    except OwnershipUnavailableError as error:
        raise _unavailable(provisioned_product_id, error, failed_id) from error
    if owner is not None and owner != me:
        raise _refused(action, provisioned_product_id, owner, me, failed_id)
    return owner


def _unavailable(provisioned_product_id: str, error: Exception, failed_id: str | None) -> ResourceFailure:
    return ResourceFailure(
        f"Could not check who owns provisioned product {provisioned_product_id} ({error}); nothing was "
        f"changed. Retry the deployment once the provider's owners table is reachable.",
        failed_id,
    )


def _refused(
    action: str, provisioned_product_id: str, owner: Owner, me: Owner, failed_id: str | None
) -> ResourceFailure:
    return ResourceFailure(
        f"Refused to {action} provisioned product {provisioned_product_id}: it belongs to "
        f"{owner.describe()}, not to {me.describe()}. Nothing was changed. Use a plan for a product of "
        "your own (a new ProvisionedProductName); to drop this resource from your stack without touching "
        "the product, delete it with DeletionPolicy: Retain (or --retain-resources).",
        failed_id,
    )


def claim(request: PlanRequest, product_id: str, env: Environment, *, action: str, failed_id: str | None) -> None:
    """Claim the product for the resource about to act on it; remembered so that a request that then
    fails without the product gives a new claim back (steps/leftovers.py)."""
    if require_owner(env.owners, product_id, request, action=action, failed_id=failed_id, sleep=env.sleep):
        env.new_claims.append(product_id)
