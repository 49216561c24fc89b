"""Powertools Logger, Tracer and Metrics shared by every module of the function."""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE_NAME = "servicecatalog-plan-execution"
DEFAULT_METRICS_NAMESPACE = "ServiceCatalogPlanExecution"
# Every AWS call goes through botocore; that is all the X-Ray SDK patches. Patching everything
# (Powertools' default) would also load and wrap http.client, tracing the answer's PUT to the
# pre-signed ResponseURL, and costs cold-start time for modules this function never uses.
TRACED_MODULES = ("botocore",)

logger = Logger(service=os.getenv("POWERTOOLS_SERVICE_NAME", SERVICE_NAME))
tracer = Tracer(service=os.getenv("POWERTOOLS_SERVICE_NAME", SERVICE_NAME), patch_modules=TRACED_MODULES)
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_METRICS_NAMESPACE))


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
