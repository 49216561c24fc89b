"""What the provider declared for each product it manages: the drift check's side of the records.

Read only by the drift check (steps/drift.py: the scheduled check and `sc-plan-execution drift`),
and written by a restore, both rare paths, so nothing here costs a Create's cold start.

The owners table already holds what a drift check compares with: each product's owner (`pp-...`
items not terminated) and, per plan the provider executed for it (`plan#...` items: spec mode
executes plans too), the version and parameters it declared and the record that applied them. A
restore (a rollback, or a `ReapplyToken` change) re-applies a plan with UpdateProvisionedProduct:
its record is added to that plan's item (`RestoreRecords`, `RestoredAt`), so the plan applied last
is the product's declared state, and every record the provider made is known as its own.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from sc_plan_provider.core.value import Value
from sc_plan_provider.records.owners import (
    APPLIED,
    EXECUTED_AT,
    EXECUTING_REQUEST,
    KEY,
    LOGICAL_RESOURCE_ID,
    PLAN_KEY_PREFIX,
    RECORD_ID,
    STACK_ID,
    TERMINATED_AT,
    AppliedPlan,
    DynamoDBOwnerRegistry,
    Owner,
    OwnershipUnavailableError,
    decode_applied,
    plan_key,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sc_plan_provider.records.ports import ManagedListing, OwnerRegistry

__all__ = ["ManagedProduct", "managed_products", "record_restore", "scan"]

PRODUCT_KEY_PREFIX = "pp-"
RESTORE_RECORDS = "RestoreRecords"  # a string set: the records of every restore of the plan
RESTORED_AT = "RestoredAt"  # epoch seconds of the latest restore


class ManagedProduct(Value):
    """A product the provider manages: its owner, what the provider applied last, and its records."""

    provisioned_product_id: str
    owner: Owner
    declared: AppliedPlan | None = None  # None: the provider executed no plan for it on record
    declared_at: float = 0.0  # when that plan was executed or last restored (epoch seconds)
    provider_records: frozenset[str] = frozenset()  # every record the provider made for it


def record_restore(registry: OwnerRegistry, plan_id: str, record_id: str) -> None:
    """The provider re-applied the plan to its product with this record (UpdateProvisionedProduct)."""
    if not isinstance(registry, DynamoDBOwnerRegistry):
        cast("ManagedListing", registry).restored(plan_id, record_id)
        return
    registry.write(
        plan_key(plan_id),
        "ADD #records :record SET #at = :now",
        "attribute_exists(#applied)",
        {"#records": RESTORE_RECORDS, "#at": RESTORED_AT, "#applied": APPLIED},
        {":record": {"SS": [record_id]}, ":now": {"N": repr(time.time())}},
        missing_ok=True,
    )


def managed_products(registry: OwnerRegistry) -> list[ManagedProduct]:
    """Every product with an owner on record that the provider has not terminated, oldest key first."""
    owners: dict[str, Owner] = {}
    plans: list[tuple[AppliedPlan, float, frozenset[str]]] = []
    if isinstance(registry, DynamoDBOwnerRegistry):
        for item in scan(registry):
            key = item[KEY]["S"]
            if key.startswith(PRODUCT_KEY_PREFIX) and STACK_ID in item and TERMINATED_AT not in item:
                owners[key] = Owner(item[STACK_ID]["S"], item.get(LOGICAL_RESOURCE_ID, {}).get("S", "?"))
            elif key.startswith(PLAN_KEY_PREFIX) and APPLIED in item and RECORD_ID in item:
                plans.append(_plan_of(key.removeprefix(PLAN_KEY_PREFIX), item))
    else:
        listing = cast("ManagedListing", registry)
        owners = dict(listing.owned(limit=10**9))
        plans = listing.executed_plans()
    latest: dict[str, tuple[AppliedPlan, float]] = {}
    records: dict[str, set[str]] = {}
    for applied, at, restores in plans:
        product_id = applied.provisioned_product_id
        records.setdefault(product_id, set()).update({applied.record_id, *restores})
        if product_id not in latest or at >= latest[product_id][1]:
            latest[product_id] = (applied, at)
    return [
        ManagedProduct(
            provisioned_product_id=product_id,
            owner=owner,
            declared=latest[product_id][0] if product_id in latest else None,
            declared_at=latest[product_id][1] if product_id in latest else 0.0,
            provider_records=frozenset(records.get(product_id, ())),
        )
        for product_id, owner in sorted(owners.items())
    ]


def scan(registry: DynamoDBOwnerRegistry, **request: Any) -> Iterator[dict[str, Any]]:
    """Every item of the owners table (consistent, every page), filtered as `request` says."""
    request = {"TableName": registry.table_name, "ConsistentRead": True, **request}
    while True:
        try:
            page = registry.client.scan(**request)
        except (ClientError, BotoCoreError) as error:
            raise OwnershipUnavailableError(str(error)) from error
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _plan_of(plan_id: str, item: dict[str, Any]) -> tuple[AppliedPlan, float, frozenset[str]]:
    applied = decode_applied(
        plan_id,
        item[APPLIED]["S"],
        owner=Owner(item.get(STACK_ID, {}).get("S", ""), item.get(LOGICAL_RESOURCE_ID, {}).get("S", "")),
        executing_request=item.get(EXECUTING_REQUEST, {}).get("S", ""),
        record_id=item[RECORD_ID]["S"],
        executed_at=float(item[EXECUTED_AT]["N"]) if EXECUTED_AT in item else None,
    )
    restored_at = float(item[RESTORED_AT]["N"]) if RESTORED_AT in item else 0.0
    at = max(applied.executed_at or 0.0, restored_at)
    return applied, at, frozenset(item.get(RESTORE_RECORDS, {}).get("SS", []))
