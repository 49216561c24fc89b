"""The answer of a request that changes nothing: the product as it stands, and a plan's summary.

An Update whose plan or spec did not change, a spec with nothing to change, a plan already where
its product is: each reports the product's ids and outputs without executing anything. Loaded by
those paths only (a Create always executes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.request import ResourceFailure
from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.servicecatalog.calls import NotFoundError
from sc_plan_provider.servicecatalog.shapes import ChangeSummary
from sc_plan_provider.servicecatalog.wait import read_after_write, visible_product
from sc_plan_provider.steps.context import Answer, answer_data
from sc_plan_provider.steps.gate import decide
from sc_plan_provider.waiting.waiter import call_until_answered

if TYPE_CHECKING:
    from sc_plan_provider.servicecatalog.calls import ServiceCatalog
    from sc_plan_provider.steps.context import Environment
    from sc_plan_provider.waiting.deadline import Deadline


def plan_summary(plan_id: str, service_catalog: ServiceCatalog, env: Environment) -> ChangeSummary:
    """The change summary of a plan that is only reported: from the plan, else from the provider's
    record of it; a plan the provider knows nothing of any more counts nothing."""
    try:
        plan = service_catalog.describe_plan(plan_id)
    except NotFoundError:
        applied = env.applied_plan(plan_id)
        if applied is not None:
            return applied.summary
        logger.warning("Plan no longer exists: its change summary is reported as 0", extra={"plan_id": plan_id})
        return ChangeSummary()
    return decide(service_catalog.resource_changes(plan), allow_replacement=True, allow_removal=True).summary


def current(
    product_id: str,
    service_catalog: ServiceCatalog,
    summary: ChangeSummary,
    *,
    env: Environment,
    deadline: Deadline,
) -> Answer:
    """The ids and outputs of the product as it stands, without executing anything."""
    product = call_until_answered(
        lambda: visible_product(service_catalog, product_id, sleep=env.sleep),
        what=f"provisioned product {product_id}",
        deadline=deadline,
        sleep=env.sleep,
    )
    if product is None:
        raise ResourceFailure(f"Provisioned product {product_id} no longer exists in Service Catalog.")
    record_id = product.last_successful_provisioning_record_id or product.last_record_id
    # A record just written (an update made by hand, say) may not be visible for a read or two.
    record = call_until_answered(
        lambda: read_after_write(lambda: service_catalog.describe_record(record_id), sleep=env.sleep),
        what=f"record {record_id}",
        deadline=deadline,
        sleep=env.sleep,
    )
    outputs = call_until_answered(
        lambda: service_catalog.record_outputs(record),
        what=f"the outputs of record {record_id}",
        deadline=deadline,
        sleep=env.sleep,
    )
    return Answer(product_id, answer_data(product_id, record, outputs, summary))
