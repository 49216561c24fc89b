"""Library log lines go through the provider's JSON logger and never at DEBUG (crhelper logs the
whole event, ResponseURL included, at DEBUG), whatever level the function's logger runs at; metrics
are published per provider and per resource (the dimension set the construct's metric_* methods name)."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from botocore.stub import Stubber

from sc_plan_provider.core.telemetry import measure_resource, metrics, route_library_logs
from support import sc_stubs as sc
from support.cfn_requests import Answers, invoke, make_event

FAST = {"PollingIntervalSeconds": "0.1", "PollingBackoffRate": "1", "PollingMaxIntervalSeconds": "0.1"}
RESOURCE_SET = ["service", "StackName", "LogicalResourceId"]


def test_library_logs_are_json_and_never_debug_even_when_the_logger_is() -> None:
    stream = io.StringIO()
    source = Logger(service="telemetry-test", level="DEBUG", logger_handler=logging.StreamHandler(stream))
    route_library_logs("library-under-test", source)
    library = logging.getLogger("library-under-test")

    library.debug("event: %s", {"ResponseURL": "https://example.com/presigned"})
    library.info("response sent")

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["response sent"]
    assert lines[0]["name"] == "library-under-test"
    assert lines[0]["service"] == "telemetry-test"
    assert "presigned" not in stream.getvalue()


# --- Metrics: each request's metrics go to `service` alone and to the resource's own dimension set.


def published(output: str) -> list[dict[str, Any]]:
    """The EMF documents Powertools printed (CloudWatch extracts metrics from these log lines)."""
    documents = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [document for document in documents if "_aws" in document]


def failed_create(stub: Stubber, logical_id: str = "Bucket", product_id: str = sc.PRODUCT_ID) -> dict[str, Any]:
    sc.describe_plan(stub, "CREATE_SUCCESS", product_id=product_id)
    sc.execute_plan(stub)
    sc.describe_record(stub, "FAILED", errors=[("CREATE_FAILED", "Bucket name taken")])
    event = make_event("Create", {"PlanId": sc.PLAN_ID, **FAST})
    event["LogicalResourceId"] = logical_id
    return event


def test_metrics_are_published_per_provider_and_per_resource(
    stub: Stubber, answers: Answers, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(failed_create(stub))
    assert answers.only["Status"] == "FAILED"
    (document,) = published(capsys.readouterr().out)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "ServiceCatalogPlanExecution"
    # CloudWatch extracts one metric per dimension set: the provider-wide and the resource's own.
    assert directive["Dimensions"] == [["service"], RESOURCE_SET]
    assert {m["Name"] for m in directive["Metrics"]} == {
        "PlanExecutions",
        "ProvisioningFailures",
        "ProvisioningSeconds",
    }
    assert (document["service"], document["StackName"], document["LogicalResourceId"]) == (
        "servicecatalog-plan-execution",
        "demo",  # the stack name in the request's StackId
        "Bucket",
    )
    assert document["ProvisioningFailures"] == [1.0]


def test_a_request_that_published_nothing_leaves_no_dimension_set_to_the_next(
    stub: Stubber, answers: Answers, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(make_event("Create", {"PlanId": "not a plan id!"}))  # refused before any call: no metric
    invoke(failed_create(stub, logical_id="Orders", product_id="pp-ordersproduct1"))
    assert [body["Status"] for body in answers.bodies] == ["FAILED", "FAILED"]
    (document,) = published(capsys.readouterr().out)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["service"], RESOURCE_SET]
    assert document["LogicalResourceId"] == "Orders"


def test_an_event_without_a_stack_arn_is_measured_per_provider_only() -> None:
    measure_resource({"StackId": "not-an-arn", "LogicalResourceId": "Bucket"})
    metrics.add_metric(name="PlanExecutions", unit="Count", value=1)
    document = metrics.serialize_metric_set()
    metrics.clear_metrics()
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
