"""Restoring a plan that already ran: the product ends on that plan's artifact and parameters.

An Update whose PlanId names an executed plan is a rollback (CloudFormation sends the old
properties back) or a deliberate return to an earlier plan. A plan executes once, so the plan's
product, provisioning artifact, path and parameters are re-applied with UpdateProvisionedProduct
when the product has moved since, and left alone when it is still where the plan put it.

Service Catalog has no API that returns a product's current parameters, so "still where the plan
put it" is decided from what is knowable:

- the product runs the plan's provisioning artifact (DescribeProvisionedProduct), and
- its last successful provisioning record started no later than the plan's last status change
  (the plan's UpdatedTime, which its execution moves on): nothing succeeded on the product after
  the plan's execution, so its parameters are still the plan's.

A product that Service Catalog itself rolled back after a failed update (TAINTED on the old
version, last success = the plan's own execution) is therefore left alone. Anything else is
re-applied; when in doubt (no record, no times) the rule re-applies, which is idempotent.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sc_plan_provider.deadline import Deadline
from sc_plan_provider.errors import DeadlineExceededError, ResourceFailure
from sc_plan_provider.plan_executor import Execution
from sc_plan_provider.polling_policy import PollingPolicy
from sc_plan_provider.record_waiter import wait_for_record
from sc_plan_provider.request import PlanRequest
from sc_plan_provider.service_catalog import Plan, ProvisionedProduct, ServiceCatalog
from sc_plan_provider.telemetry import logger
from sc_plan_provider.value import Value

RESTORE = "restore"
PRODUCT_UNDER_CHANGE = "UNDER_CHANGE"


class Restoration(Value):
    """The product to report and, when the plan was re-applied, the update to wait for."""

    provisioned_product_id: str
    update: Execution | None


def restore_plan(
    request: PlanRequest,
    plan: Plan,
    service_catalog: ServiceCatalog,
    *,
    policy: PollingPolicy,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
) -> Restoration:
    """Put the plan's product back on the plan, or confirm it is there. Never gated, never executes a plan.

    The UpdateToken derives from the request, so a duplicate delivery or a continuation gets the
    same update record back instead of updating again.
    """
    product_id = plan.provisioned_product_id
    product = _settled_product(product_id, service_catalog, policy=policy, deadline=deadline, sleep=sleep)
    if is_on_plan(product, plan, service_catalog):
        logger.info(
            "Product already on the plan: nothing to re-apply",
            extra={"plan_id": plan.plan_id, "provisioned_product_id": product_id, "product_status": product.status},
        )
        return Restoration(product_id, None)
    record_id = service_catalog.update_product(product_id, plan, request.token(RESTORE, plan.plan_id))
    logger.info(
        "Re-applying an executed plan to its product",
        extra={"plan_id": plan.plan_id, "provisioned_product_id": product_id, "record_id": record_id},
    )
    return Restoration(product_id, Execution(plan.plan_id, record_id, product_id))


def is_on_plan(product: ProvisionedProduct, plan: Plan, service_catalog: ServiceCatalog) -> bool:
    """The rule in the module docstring: the plan's artifact, and no success since the plan ran."""
    if product.provisioning_artifact_id != plan.provisioning_artifact_id:
        return False
    if not product.last_successful_provisioning_record_id or plan.updated_time is None:
        return False
    last_success = service_catalog.describe_record(product.last_successful_provisioning_record_id)
    return last_success.created_time is not None and last_success.created_time <= plan.updated_time


def _settled_product(
    product_id: str,
    service_catalog: ServiceCatalog,
    *,
    policy: PollingPolicy,
    deadline: Deadline,
    sleep: Callable[[float], None],
) -> ProvisionedProduct:
    """The product once no record runs on it (a cancelled forward update may still be running)."""
    product = service_catalog.describe_product(product_id)
    if product is None:
        raise ResourceFailure(f"Provisioned product {product_id} no longer exists in Service Catalog.")
    if product.status != PRODUCT_UNDER_CHANGE or not product.last_record_id:
        return product
    try:
        wait_for_record(service_catalog, product.last_record_id, policy=policy, deadline=deadline, sleep=sleep)
    except DeadlineExceededError as error:
        raise ResourceFailure(
            f"Provisioned product {product_id} is still under change, so it cannot be restored yet: {error}",
            product_id,
        ) from error
    settled = service_catalog.describe_product(product_id)
    if settled is None:
        raise ResourceFailure(f"Provisioned product {product_id} no longer exists in Service Catalog.")
    return settled
