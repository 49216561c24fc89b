"""Powertools Logger, Tracer and Metrics shared by every module of the function."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

SERVICE_NAME = "servicecatalog-plan-execution"
SERVICE = os.getenv("POWERTOOLS_SERVICE_NAME", SERVICE_NAME)
DEFAULT_METRICS_NAMESPACE = "ServiceCatalogPlanExecution"
# The resource's own dimension set, next to Powertools' `service` alone (the construct's metric_*
# methods name these: sc_plan_execution/metrics.py).
STACK_NAME_DIMENSION = "StackName"
LOGICAL_ID_DIMENSION = "LogicalResourceId"
# Every AWS call goes through botocore; that is all the X-Ray SDK patches. Patching everything
# (Powertools' default) would also load and wrap http.client, tracing the answer's PUT to the
# pre-signed ResponseURL, and costs cold-start time for modules this function never uses.
TRACED_MODULES = ("botocore",)

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE, patch_modules=TRACED_MODULES)
metrics = Metrics(service=SERVICE, namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_METRICS_NAMESPACE))


def measure_resource(event: Mapping[str, Any]) -> None:
    """Publish this request's metrics per resource too: a second dimension set (service, stack name,
    logical id) next to `service` alone, so one resource's alarm and every provider's stay apart.

    Starts from a clean set: Powertools clears dimension sets only after publishing something, so a
    request that published nothing would leave its set to the next one.
    """
    metrics.clear_metrics()
    # StackId is arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>.
    resource = str(event.get("StackId") or "").split(":", 5)[-1].split("/")
    logical_id = str(event.get("LogicalResourceId") or "")
    if len(resource) == 3 and resource[0] == "stack" and resource[1] and logical_id:
        metrics.add_dimensions(
            **{"service": SERVICE, STACK_NAME_DIMENSION: resource[1], LOGICAL_ID_DIMENSION: logical_id}
        )


def route_library_logs(name: str, source: Logger = logger) -> None:
    """Send a library's log lines through our logger's handlers (JSON, with the request's keys),
    never below INFO whatever POWERTOOLS_LOG_LEVEL says: crhelper logs the whole event, ResponseURL
    included, at DEBUG. (Powertools' copy_config_to_registered_loggers would copy the DEBUG level
    and costs a cold start two more modules.)"""
    library = logging.getLogger(name)
    library.setLevel(max(logging.INFO, source.log_level))
    library.handlers = list(source.handlers)
    library.propagate = False
    source.append_keys(name="%(name)s")
