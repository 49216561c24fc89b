"""Owner records of products not terminated: what deleting the owners table would lose.

Read only by the owners table guard (routes/owners_guard.py), when the stack of a provider created
with `ProviderOptions(removal_policy=DESTROY)` is deleted: a Scan of the owners table, paged,
filtered to owner records (`pp-...` items with an owner) that carry no `TerminatedAt`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from sc_plan_provider.records.managed import PRODUCT_KEY_PREFIX, scan
from sc_plan_provider.records.owners import (
    KEY,
    LOGICAL_RESOURCE_ID,
    STACK_ID,
    TERMINATED_AT,
    DynamoDBOwnerRegistry,
    Owner,
)

if TYPE_CHECKING:
    from sc_plan_provider.records.ports import OwnerListing, OwnerRegistry


def live_owner_records(registry: OwnerRegistry, limit: int) -> list[tuple[str, Owner]]:
    """Up to `limit` (product id, owner) records of products the provider has not terminated."""
    if isinstance(registry, DynamoDBOwnerRegistry):
        return _scanned(registry, limit)
    return cast("OwnerListing", registry).owned(limit)


def _scanned(registry: DynamoDBOwnerRegistry, limit: int) -> list[tuple[str, Owner]]:
    found: list[tuple[str, Owner]] = []
    items = scan(
        registry,
        FilterExpression="begins_with(#key, :pp) AND attribute_exists(#stack) AND attribute_not_exists(#ended)",
        ExpressionAttributeNames={"#key": KEY, "#stack": STACK_ID, "#ended": TERMINATED_AT},
        ExpressionAttributeValues={":pp": {"S": PRODUCT_KEY_PREFIX}},
    )
    for item in items:
        found.append((item[KEY]["S"], Owner(item[STACK_ID]["S"], item.get(LOGICAL_RESOURCE_ID, {}).get("S", "?"))))
        if len(found) >= limit:
            break
    return found
