"""Restoring a plan that already ran: the product ends on that plan's artifact and parameters.

Loaded when an Update names a plan that already ran (every rollback), not on a Create's path.

An Update whose PlanId names an executed plan is a rollback (CloudFormation sends the old
properties back) or a deliberate return to an earlier plan. A plan executes once, so the plan's
product, provisioning artifact, path and parameters are re-applied with UpdateProvisionedProduct
when the product has moved since, and left alone when it is still where the plan put it. What the
plan gave comes from the plan itself or, once it was deleted (on the real service an executed plan
must go before the product's next plan can be created), from the record the provider wrote when
it executed the plan (records/owners.py).

Service Catalog has no API that returns a product's current parameters, so "still where the plan
put it" is decided from what is knowable:

- the product runs the plan's provisioning artifact (DescribeProvisionedProduct), and
- its last successful provisioning record is the plan's own execution (when the provider recorded
  it), or else started no later than the plan's execution (the plan's UpdatedTime, which its
  execution moves on): nothing succeeded on the product after it, so its parameters are the plan's.

A product that Service Catalog itself rolled back after a failed update (TAINTED on the old
version, last success = the plan's own execution) is therefore left alone. Anything else is
re-applied; when in doubt (no record, no times) the rule re-applies, which is idempotent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.request import ResourceFailure
from sc_plan_provider.core.telemetry import logger, metrics
from sc_plan_provider.core.value import Value
from sc_plan_provider.properties.resource import PLAN_ID
from sc_plan_provider.records.managed import record_restore
from sc_plan_provider.records.owners import OwnershipUnavailableError
from sc_plan_provider.servicecatalog.planning import PlanningCatalog
from sc_plan_provider.servicecatalog.shapes import PRODUCT_UNDER_CHANGE, ProductVersion, ProvisionedProduct
from sc_plan_provider.servicecatalog.wait import read_after_write, visible_product, wait_for_record
from sc_plan_provider.steps.apply import Execution, finish
from sc_plan_provider.steps.deputy import claim
from sc_plan_provider.steps.report import current
from sc_plan_provider.waiting.waiter import DeadlineExceededError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sc_plan_provider.core.request import PlanRequest
    from sc_plan_provider.properties.resource import PlanProperties
    from sc_plan_provider.servicecatalog.calls import ServiceCatalog
    from sc_plan_provider.servicecatalog.shapes import ChangeSummary, Plan
    from sc_plan_provider.steps.context import Answer, Environment
    from sc_plan_provider.waiting.deadline import Deadline
    from sc_plan_provider.waiting.policy import PollingPolicy
    from sc_plan_provider.waiting.waiter import Sleep

RESTORE = "restore"


class RestorePoint(Value):
    """Where a plan put its product: what it gave, and when (or by which record) it did."""

    plan_id: str
    provisioned_product_id: str
    version: ProductVersion
    record_id: str = ""  # the execution's record, when the provider executed the plan
    executed_at: float | None = None  # epoch seconds (Service Catalog's clock when taken from the plan)


class Restoration(Value):
    """The product to report and, when the plan was re-applied, the update to wait for."""

    provisioned_product_id: str
    update: Execution | None


def restore_plan(
    request: PlanRequest,
    point: RestorePoint,
    service_catalog: ServiceCatalog,
    *,
    policy: PollingPolicy,
    deadline: Deadline,
    may_act: Callable[[], bool],
    sleep: Sleep,
    force: bool = False,
) -> Restoration:
    """Put the plan's product back on the plan, or confirm it is there. Never gated, never executes a plan.

    The UpdateToken derives from the request, so a duplicate delivery or a continuation gets the
    same update record back instead of updating again.
    """
    product_id = point.provisioned_product_id
    product = _settled_product(product_id, service_catalog, policy=policy, deadline=deadline, sleep=sleep)
    if not force and is_on_plan(product, point, service_catalog, sleep=sleep):
        logger.info(
            "Product already on the plan: nothing to re-apply",
            extra={"plan_id": point.plan_id, "provisioned_product_id": product_id, "product_status": product.status},
        )
        return Restoration(product_id, None)
    if not may_act():
        raise ResourceFailure(
            f"PlanId {point.plan_id} was not restored: CloudFormation has moved on from this request, so it "
            "changes nothing."
        )
    record_id = service_catalog.extended(PlanningCatalog).update_product(
        product_id, point.version, request.token(RESTORE, point.plan_id)
    )
    logger.info(
        "Re-applying an executed plan to its product",
        extra={"plan_id": point.plan_id, "provisioned_product_id": product_id, "record_id": record_id},
    )
    return Restoration(product_id, Execution(point.plan_id, record_id, product_id))


def is_on_plan(
    product: ProvisionedProduct, point: RestorePoint, service_catalog: ServiceCatalog, *, sleep: Sleep
) -> bool:
    """The rule in the module docstring: the plan's artifact, and no success since the plan ran."""
    if product.provisioning_artifact_id != point.version.provisioning_artifact_id:
        return False
    last_success = product.last_successful_provisioning_record_id
    if not last_success:
        return False
    if point.record_id:
        return last_success == point.record_id
    if point.executed_at is None:
        return False
    record = read_after_write(lambda: service_catalog.describe_record(last_success), sleep=sleep)
    return record.created_time is not None and record.created_time <= point.executed_at


def _settled_product(
    product_id: str,
    service_catalog: ServiceCatalog,
    *,
    policy: PollingPolicy,
    deadline: Deadline,
    sleep: Sleep,
) -> ProvisionedProduct:
    """The product once no record runs on it (a cancelled forward update may still be running)."""
    product = _product(product_id, service_catalog, sleep)
    if product.status != PRODUCT_UNDER_CHANGE or not product.last_record_id:
        return product
    try:
        wait_for_record(service_catalog, product.last_record_id, policy=policy, deadline=deadline, sleep=sleep)
    except DeadlineExceededError as error:
        raise ResourceFailure(
            f"Provisioned product {product_id} is still under change, so it cannot be restored yet: {error}",
            product_id,
        ) from error
    return _product(product_id, service_catalog, sleep)


def _product(product_id: str, service_catalog: ServiceCatalog, sleep: Sleep) -> ProvisionedProduct:
    product = visible_product(service_catalog, product_id, sleep=sleep)
    if product is None:
        raise ResourceFailure(f"Provisioned product {product_id} no longer exists in Service Catalog.")
    return product


def restore_point(plan_id: str, plan: Plan | None, env: Environment) -> RestorePoint | None:
    """Where an executed plan put its product: the provider's record of it, else the plan itself."""
    applied = env.applied_plan(plan_id)
    if applied is not None:
        return RestorePoint(
            plan_id, applied.provisioned_product_id, applied.version, applied.record_id, applied.executed_at
        )
    if plan is not None:
        return RestorePoint(plan_id, plan.provisioned_product_id, plan.version(), executed_at=plan.updated_time)
    return None


def restore(
    request: PlanRequest,
    point: RestorePoint,
    service_catalog: ServiceCatalog,
    properties: PlanProperties,
    *,
    deadline: Deadline,
    env: Environment,
    summary: ChangeSummary,
    force: bool = False,
) -> Answer:
    """`force`: re-apply even when the product is on the plan (a ReapplyToken change)."""
    if point.provisioned_product_id != request.physical_resource_id:
        claim(request, point.provisioned_product_id, env, action="re-apply", failed_id=None)
    restoration = restore_plan(
        request,
        point,
        service_catalog,
        policy=properties.polling,
        deadline=deadline,
        may_act=lambda: env.may_act(request),
        sleep=env.sleep,
        force=force,
    )
    if restoration.update is None:
        return current(restoration.provisioned_product_id, service_catalog, summary, env=env, deadline=deadline)
    env.on_product(restoration.provisioned_product_id)
    metrics.add_metric(name="Restores", unit="Count", value=1)
    try:  # the drift check knows the record as the provider's own
        record_restore(env.owners, point.plan_id, restoration.update.record_id)
    except OwnershipUnavailableError as error:
        logger.warning("Could not record the restore's record id", extra={"error": str(error)})
    try:
        return finish(restoration.update, service_catalog, properties, deadline=deadline, env=env, summary=summary)
    except ResourceFailure as failure:
        raise ResourceFailure(
            f"Restoring {PLAN_ID} {point.plan_id} (UpdateProvisionedProduct with its artifact and parameters) "
            f"failed: {failure.reason}",
            failure.physical_resource_id,
        ) from failure
