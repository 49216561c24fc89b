"""The scheduled drift check: every product the provider manages, a verdict and a metric each.

Enabled by `ProviderOptions(drift_check_schedule=...)`: an EventBridge schedule invokes the
function with `{"DriftCheck": true}`. Nothing here changes anything (Scan of the owners table,
DescribeProvisionedProduct, DescribeRecord, DescribeStacks), so an invocation nobody scheduled
can only make the provider read. Each resource gets a `Drifted` metric (1 drifted, 0 in sync) with
the dimension set its construct's `metric_drifted()` names, and one log line with its verdict and
reasons (never a parameter value). A product whose check fails is logged as an error (no metric:
an unknown is not a verdict); the others are still checked.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from botocore.exceptions import BotoCoreError

from sc_plan_provider.core.telemetry import LOGICAL_ID_DIMENSION, SERVICE, STACK_NAME_DIMENSION, logger, metrics
from sc_plan_provider.records.managed import managed_products
from sc_plan_provider.servicecatalog.calls import ServiceCatalogError
from sc_plan_provider.servicecatalog.product_stack import StackUnreadableError
from sc_plan_provider.steps.drift import check_product

if TYPE_CHECKING:
    from sc_plan_provider.records.ports import OwnerRegistry
    from sc_plan_provider.servicecatalog.calls import ServiceCatalog
    from sc_plan_provider.steps.drift import DriftRow, StackParameters
    from sc_plan_provider.waiting.waiter import Sleep

__all__ = ["DRIFT_CHECK_EVENT_KEY", "drift_check", "is_drift_check"]

# The schedule's input (sc_plan_execution/provider.py): what tells this invocation from a request.
DRIFT_CHECK_EVENT_KEY = "DriftCheck"


def is_drift_check(event: dict[str, Any]) -> bool:
    return event.get(DRIFT_CHECK_EVENT_KEY) is True and "RequestType" not in event


def drift_check(
    owners: OwnerRegistry, service_catalog: ServiceCatalog, parameters: StackParameters, *, sleep: Sleep
) -> list[DriftRow]:
    """Check every managed product; publish and log each verdict."""
    rows: list[DriftRow] = []
    errors = 0
    for managed in managed_products(owners):
        try:
            row = check_product(managed, service_catalog, parameters, sleep=sleep)
        except (ServiceCatalogError, StackUnreadableError, BotoCoreError) as error:
            errors += 1
            logger.error(
                "Drift check failed for a product",
                extra={
                    "provisioned_product_id": managed.provisioned_product_id,
                    "stack_id": managed.owner.stack_id,
                    "logical_resource_id": managed.owner.logical_resource_id,
                    "error": " ".join(str(error).split()),
                },
            )
            continue
        rows.append(row)
        _publish(row)
        logger.info(
            "Drift verdict",
            extra={
                "verdict": row.verdict,
                "reasons": list(row.reasons),
                "provisioned_product_id": row.provisioned_product_id,
                "stack_id": row.stack_id,
                "logical_resource_id": row.logical_resource_id,
                "last_record_id": row.last_record_id,
                "last_record_by": row.last_record_by,
            },
        )
    logger.info("Drift check done", extra={"verdicts": dict(Counter(row.verdict for row in rows)), "errors": errors})
    return rows


def _publish(row: DriftRow) -> None:
    """One EMF document per resource: its own dimension set (service, stack name, logical id)."""
    with single_metric(
        name="Drifted",
        unit=MetricUnit.Count,
        value=1 if row.drifted else 0,
        namespace=metrics.namespace,
        default_dimensions={
            "service": SERVICE,
            STACK_NAME_DIMENSION: row.stack_name,
            LOGICAL_ID_DIMENSION: row.logical_resource_id,
        },
    ):
        pass
