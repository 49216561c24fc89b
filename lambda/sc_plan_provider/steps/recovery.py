"""Finding the record of an execution this request made but did not see answered.

A duplicate delivery, or Lambda's retry of a killed environment, finds the plan executed with the
provider's record saying this request executed it, or has its own ExecuteProvisionedProductPlan
refused because the first delivery got there first. Loaded on those paths only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sc_plan_provider.core.errors import ResourceFailure
from sc_plan_provider.servicecatalog.calls import NotFoundError, Plan, ServiceCatalog, ServiceCatalogError
from sc_plan_provider.steps.execute import PLAN_EXECUTED_STATUSES, RECORD_ID_WAIT_SECONDS, applied_record
from sc_plan_provider.waiting.visibility import fresh, visible_product

if TYPE_CHECKING:
    from sc_plan_provider.records.ports import OwnerRegistry

# A refused execute of a plan that still reads CREATE_SUCCESS is read again this often.
STALE_PLAN_READ_DELAYS = (0.3, 1.0, 2.0)


def own_record_after_refusal(
    service_catalog: ServiceCatalog,
    plan: Plan,
    records: OwnerRegistry,
    request_key: str,
    *,
    error: ServiceCatalogError,
    sleep: Callable[[float], None],
) -> str:
    """Execute was refused: executed meanwhile by this request (its records say so) is its own
    record, decided from the plan's status, never from the refusal's error code; else a failure."""
    now = _described(service_catalog, plan.plan_id, sleep)
    if now is None or now.status not in PLAN_EXECUTED_STATUSES:
        raise ResourceFailure(
            f"PlanId {plan.plan_id} cannot be executed (status {now.status if now else 'not found'}): {error}"
        ) from error
    return own_record(service_catalog, now, records, request_key, sleep)


def own_record(
    service_catalog: ServiceCatalog,
    plan: Plan,
    records: OwnerRegistry,
    request_key: str,
    sleep: Callable[[float], None],
) -> str:
    """The record of an execution this request made but did not see answered (a duplicate or a
    killed environment made it): recorded by the duplicate shortly, else the product's last
    provisioning record, which is this execution's: nothing else may change the product meanwhile."""
    give_up = time.monotonic() + RECORD_ID_WAIT_SECONDS
    while True:
        applied = applied_record(records, plan.plan_id)
        if applied is not None and applied.executing_request == request_key and applied.record_id:
            return applied.record_id
        if time.monotonic() >= give_up:
            break
        sleep(0.5)
    product = visible_product(service_catalog, plan.provisioned_product_id, sleep=sleep)
    if product is None or not product.last_provisioning_record_id:
        raise ResourceFailure(
            f"PlanId {plan.plan_id} was executed, but provisioned product {plan.provisioned_product_id} shows no "
            "provisioning record yet; deploy again in a moment."
        )
    return product.last_provisioning_record_id


def _described(service_catalog: ServiceCatalog, plan_id: str, sleep: Callable[[float], None]) -> Plan | None:
    """The plan after a refused execute: read again while it still shows CREATE_SUCCESS, since a
    read right after an execution may show the plan from before it (eventual consistency)."""
    plan: Plan | None = None
    for delay in (*STALE_PLAN_READ_DELAYS, None):
        try:
            plan = fresh(lambda: service_catalog.describe_plan(plan_id), sleep=sleep)
        except NotFoundError:
            return None
        if plan.status in PLAN_EXECUTED_STATUSES or delay is None:
            return plan
        sleep(delay)
    return plan
