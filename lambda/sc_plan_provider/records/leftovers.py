"""What failed requests leave in the owners table: products a resource created but could not remove.

A product a request created but could not remove (a replacement whose termination did not finish)
is recorded under its resource (`resource#<hash>` item, `Abandoned` set), so that the resource's
next request removes it; a claim a failed request made is released (only by that request). Loaded
only on those paths, never on a Create that succeeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from sc_plan_provider.records.owners import (
    CLAIMED_AT,
    CLAIMED_BY,
    LOGICAL_RESOURCE_ID,
    STACK_ID,
    DynamoDBOwnerRegistry,
    resource_key,
)

if TYPE_CHECKING:
    from sc_plan_provider.records.owners import Owner
    from sc_plan_provider.records.ports import Leftovers, OwnerRegistry

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


def leftovers_of(registry: OwnerRegistry) -> Leftovers:
    """The leftovers operations on the records `registry` keeps (the in-process registry keeps them itself)."""
    if isinstance(registry, DynamoDBOwnerRegistry):
        return DynamoDBLeftovers(registry)
    return cast("Leftovers", registry)
