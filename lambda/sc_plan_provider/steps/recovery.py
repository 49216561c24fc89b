"""Finding the record of an execution this request made but did not see answered.

A duplicate delivery, or Lambda's retry of a killed environment, finds the plan executed with the
provider's record saying this request executed it, or has its own ExecuteProvisionedProductPlan
refused because the first delivery got there first. Loaded on those paths only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.request import ResourceFailure
from sc_plan_provider.properties.resource import PLAN_ID
from sc_plan_provider.servicecatalog.calls import NotFoundError
from sc_plan_provider.servicecatalog.shapes import PLAN_EXECUTED_STATUSES
from sc_plan_provider.servicecatalog.wait import STATUS_AFTER_EXECUTE, read_after_write, visible_product
from sc_plan_provider.waiting.deadline import Deadline
from sc_plan_provider.waiting.policy import PollingPolicy
from sc_plan_provider.waiting.visibility import settle
from sc_plan_provider.waiting.waiter import DeadlineExceededError, wait_until

if TYPE_CHECKING:
    from sc_plan_provider.records.owners import AppliedPlan
    from sc_plan_provider.servicecatalog.calls import ServiceCatalog, ServiceCatalogError
    from sc_plan_provider.servicecatalog.shapes import Plan
    from sc_plan_provider.steps.context import Environment
    from sc_plan_provider.waiting.waiter import Sleep

# How long a duplicate of this request may take to record the record id of its execution, and how
# often the owners table is read meanwhile.
RECORD_ID_WAIT_SECONDS = 5.0
RECORD_ID_READS = PollingPolicy(interval_seconds=0.5, backoff_rate=1.0, max_interval_seconds=0.5)


class PlanNotExecutedError(ResourceFailure):
    """Execute was refused and the plan is not executed: no product of this execution exists."""


def own_record_after_refusal(
    service_catalog: ServiceCatalog, plan: Plan, env: Environment, request_key: str, *, error: ServiceCatalogError
) -> str:
    """Execute was refused: executed meanwhile by this request (its records say so) is its own
    record, decided from the plan's status, never from the refusal's error code; else a failure."""
    now = executed_plan(service_catalog, plan.plan_id, sleep=env.sleep)
    if now is None or now.status not in PLAN_EXECUTED_STATUSES:
        raise PlanNotExecutedError(
            f"{PLAN_ID} {plan.plan_id} cannot be executed (status {now.status if now else 'not found'}): {error}"
        ) from error
    return own_record(service_catalog, now, env, request_key)


def own_record(service_catalog: ServiceCatalog, plan: Plan, env: Environment, request_key: str) -> str:
    """The record of an execution this request made but did not see answered (a duplicate or a
    killed environment made it): recorded by the duplicate shortly, else the product's last
    provisioning record, which is this execution's: nothing else may change the product meanwhile."""

    def recorded(applied: AppliedPlan | None) -> bool:
        return applied is not None and applied.executing_request == request_key and bool(applied.record_id)

    try:
        applied = wait_until(
            lambda: env.applied_plan(plan.plan_id),
            recorded,
            describe=lambda _applied: "without a record id",
            what=f"the provider's record of {PLAN_ID} {plan.plan_id}",
            policy=RECORD_ID_READS,
            deadline=Deadline.after(RECORD_ID_WAIT_SECONDS, "the duplicate's time to record it ran out"),
            sleep=env.sleep,
        )
    except DeadlineExceededError:
        applied = None
    if applied is not None and applied.record_id:
        return applied.record_id
    product = visible_product(service_catalog, plan.provisioned_product_id, sleep=env.sleep)
    if product is None or not product.last_provisioning_record_id:
        raise ResourceFailure(
            f"{PLAN_ID} {plan.plan_id} was executed, but provisioned product {plan.provisioned_product_id} shows "
            "no provisioning record yet; deploy again in a moment."
        )
    return product.last_provisioning_record_id


def executed_plan(service_catalog: ServiceCatalog, plan_id: str, *, sleep: Sleep) -> Plan | None:
    """The plan after an execute (refused, or another invocation's, in flight): read again while it
    still shows CREATE_SUCCESS (STATUS_AFTER_EXECUTE), since a read right after an execution may
    show the plan from before it.
    None when not found; the last read when it never shows an executed status."""

    def read() -> Plan | None:
        try:
            return read_after_write(lambda: service_catalog.describe_plan(plan_id), sleep=sleep)
        except NotFoundError:
            return None

    return settle(read, lambda plan: plan.status in PLAN_EXECUTED_STATUSES, STATUS_AFTER_EXECUTE, sleep=sleep)
