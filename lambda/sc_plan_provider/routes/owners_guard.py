"""The owners table guard: an ephemeral provider's owners table goes only when no live product's
owner record would go with it.

A provider created with `ProviderOptions(removal_policy=DESTROY)` (tests, previews) lets CloudFormation
delete its owners table and log group with its stack. The owner records are what keeps a shared
provider a deputy (docs/shared-provider.md#a-shared-provider-is-a-deputy): losing one lets the first
stack that names the product take it over. So the construct adds this resource beside the table
(it depends on the table; every resource of the provider's stack depends on it): when the stack is
deleted, its resources' products are terminated first, then this Delete looks for owner records of
products still provisioned — a resource that was retained, a product of another stack this provider
serves — and fails naming them, so the stack's deletion stops (DELETE_FAILED) with the table in
place. Create and Update do nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.request import ResourceFailure
from sc_plan_provider.records.live_owners import live_owner_records
from sc_plan_provider.records.owners import OwnershipUnavailableError
from sc_plan_provider.steps.context import Answer

if TYPE_CHECKING:
    from sc_plan_provider.core.request import PlanRequest
    from sc_plan_provider.steps.context import Environment

PHYSICAL_ID = "owners-table-guard"
# Owner records checked against Service Catalog at most; more than this many is refused as it stands.
MAX_CHECKED = 20
# Products named in the reason (CloudFormation shows it in the stack's events).
MAX_NAMED = 5


def create(request: PlanRequest, env: Environment) -> Answer:
    return Answer(request.physical_resource_id or PHYSICAL_ID)


def delete(request: PlanRequest, env: Environment) -> Answer:
    """SUCCESS when no owner record of a provisioned product is left; else FAILED, naming them."""
    physical_id = request.physical_resource_id or PHYSICAL_ID
    try:
        records = live_owner_records(env.owners, MAX_CHECKED + 1)
    except OwnershipUnavailableError as error:
        raise ResourceFailure(
            f"Could not read the provider's owners table ({error}), so it is kept: retry the deletion once "
            "it is reachable.",
            physical_id,
        ) from error
    service_catalog = env.service_catalog(None)
    live = [record for record in records[:MAX_CHECKED] if service_catalog.describe_product(record[0]) is not None]
    unchecked = len(records) > MAX_CHECKED
    if not live and not unchecked:
        return Answer(physical_id)
    named = "; ".join(f"{product_id} ({owner.describe()})" for product_id, owner in live[:MAX_NAMED])
    more = " and more" if unchecked or len(live) > MAX_NAMED else ""
    raise ResourceFailure(
        f"The provider's owners table still holds the owners of provisioned products that exist: {named}{more}. "
        "Deleting it would let any stack take those products over, so the stack's deletion stops here. "
        "Delete the stacks that hold them (or terminate the products) first, or keep the table "
        "(ProviderOptions removal_policy RETAIN, the default).",
        physical_id,
    )
