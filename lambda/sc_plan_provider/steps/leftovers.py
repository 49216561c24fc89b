"""What a failed request gives back, and what it leaves for the resource's next request to remove.

A failed request never takes ownership: the owners it recorded for products the stack does not
hold are forgotten again (`release_new_claims`). A product the request created but could not
remove (a replacement whose termination did not finish) is recorded under the resource in the
owners table (`resource#<hash>` item, `Abandoned` set) so that the resource's next request removes
it (cleanup.remove_abandoned). Loaded only on those paths, never on a Create that succeeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from sc_plan_provider.core.request import PlanRequest
from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.records.ledger import request_key
from sc_plan_provider.records.owners import (
    CLAIMED_AT,
    CLAIMED_BY,
    LOGICAL_RESOURCE_ID,
    STACK_ID,
    DynamoDBOwnerRegistry,
    Owner,
    OwnershipUnavailableError,
    resource_key,
)

if TYPE_CHECKING:
    from sc_plan_provider.records.ports import Leftovers
    from sc_plan_provider.steps.apply import Environment

ABANDONED = "Abandoned"  # on a resource's item: a string set of pp- ids


class DynamoDBLeftovers:
    """The leftovers operations on the owners table (UpdateItem and GetItem, as the registry)."""

    def __init__(self, registry: DynamoDBOwnerRegistry) -> None:
        self._registry = registry

    def release(self, provisioned_product_id: str, owner: Owner, request_key: str) -> None:
        self._registry.write(
            provisioned_product_id,
            "REMOVE #stack, #logical, #claimed, #by",
            "#by = :request AND #stack = :stack AND #logical = :logical",
            {"#stack": STACK_ID, "#logical": LOGICAL_RESOURCE_ID, "#claimed": CLAIMED_AT, "#by": CLAIMED_BY},
            {
                ":request": {"S": request_key},
                ":stack": {"S": owner.stack_id},
                ":logical": {"S": owner.logical_resource_id},
            },
            missing_ok=True,
        )

    def abandon(self, owner: Owner, provisioned_product_id: str) -> None:
        self._registry.write(
            resource_key(owner),
            "SET #stack = :stack, #logical = :logical ADD #abandoned :product",
            None,
            {"#stack": STACK_ID, "#logical": LOGICAL_RESOURCE_ID, "#abandoned": ABANDONED},
            {
                ":stack": {"S": owner.stack_id},
                ":logical": {"S": owner.logical_resource_id},
                ":product": {"SS": [provisioned_product_id]},
            },
        )

    def abandoned(self, owner: Owner) -> frozenset[str]:
        return frozenset(self._registry.read(resource_key(owner)).get(ABANDONED, {}).get("SS", []))

    def forget_abandoned(self, owner: Owner, provisioned_product_id: str) -> None:
        self._registry.write(
            resource_key(owner),
            "DELETE #abandoned :product",
            None,
            {"#abandoned": ABANDONED},
            {":product": {"SS": [provisioned_product_id]}},
        )


def leftovers(env: Environment) -> Leftovers:
    """The operations on the records the environment's owners registry keeps."""
    if isinstance(env.owners, DynamoDBOwnerRegistry):
        return DynamoDBLeftovers(env.owners)
    return cast("Leftovers", env.owners)  # the in-process registry keeps them itself


def release_new_claims(request: PlanRequest, env: Environment, keep: tuple[str, ...]) -> None:
    """Forget the owners this request recorded, except of `keep` (the failed answer's and the
    request's physical ids: the products the stack holds) and of products this request created but
    could not remove (the resource's next request removes them: `cleanup.remove_abandoned`)."""
    owner = Owner.of(request)
    records = leftovers(env)
    for product_id in env.new_claims:
        if product_id in keep or product_id in env.abandoned:
            continue
        try:
            records.release(product_id, owner, request_key(request))
        except OwnershipUnavailableError as error:
            logger.warning("Could not give back a claim", extra={"product": product_id, "error": str(error)})
    env.new_claims.clear()
