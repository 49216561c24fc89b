"""Powertools Logger, Tracer and Metrics shared by every module of the function."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE_NAME = "servicecatalog-plan-execution"
DEFAULT_METRICS_NAMESPACE = "ServiceCatalogPlanExecution"

logger = Logger(service=os.getenv("POWERTOOLS_SERVICE_NAME", SERVICE_NAME))
tracer = Tracer(service=os.getenv("POWERTOOLS_SERVICE_NAME", SERVICE_NAME))
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_METRICS_NAMESPACE))
