"""The construct's metric_* methods and alarm_on_failures, as aws-cdk-lib's constructs offer theirs:
the handler's namespace and metric names, the resource's exact dimension set, MetricOptions, and an
alarm synthesized in the stack, cdk-nag clean with tags."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from sc_plan_execution import ProductSpec, ProvisionedProductPlanExecution
from sc_plan_execution.metrics import METRIC_NAMES
from sc_plan_provider.core import telemetry

MakeStack = Callable[[], cdk.Stack]
NamedStack = Callable[..., cdk.Stack]
LAMBDA = Path(__file__).resolve().parents[2] / "lambda" / "sc_plan_provider"
SERVICE = "servicecatalog-plan-execution"

METHODS = [
    ("metric_plan_executions", "PlanExecutions", "Sum"),
    ("metric_provisioning_failures", "ProvisioningFailures", "Sum"),
    ("metric_provisioning_seconds", "ProvisioningSeconds", "Average"),
    ("metric_terminations", "Terminations", "Sum"),
    ("metric_restores", "Restores", "Sum"),
    ("metric_continuations", "Continuations", "Sum"),
    ("metric_refused_requests", "RefusedRequests", "Sum"),
    ("metric_drifted", "Drifted", "Maximum"),  # the scheduled drift check's, over its hour
]


@pytest.fixture
def named_stack(cdk_outdir: Path, example: object) -> NamedStack:
    """A stack with the given name (and env) in an App writing to the session outdir, where the
    example app already staged the provider's asset (no bundling again)."""

    def factory(name: str, env: cdk.Environment | None = None) -> cdk.Stack:
        return cdk.Stack(cdk.App(outdir=str(cdk_outdir)), name, env=env)

    return factory


def config(stack: cdk.Stack, metric: cloudwatch.Metric) -> dict[str, Any]:
    stat = metric.to_metric_config().metric_stat
    assert stat is not None
    return {
        "namespace": stat.namespace,
        "name": stat.metric_name,
        "statistic": stat.statistic,
        "period": stat.period.to_seconds(),
        "dimensions": {d.name: stack.resolve(d.value) for d in stat.dimensions or []},
    }


def handler_metric_names() -> set[str]:
    """Every name the handler passes to `metrics.add_metric(name=...)` or `single_metric(name=...)`."""
    names: set[str] = set()
    for path in LAMBDA.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            called = (
                getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if isinstance(node, ast.Call)
                else None
            )
            if isinstance(node, ast.Call) and called in ("add_metric", "single_metric"):
                names.update(
                    k.value.value for k in node.keywords if k.arg == "name" and isinstance(k.value, ast.Constant)
                )
    return names


def test_the_construct_names_every_metric_the_handler_publishes() -> None:
    assert set(METRIC_NAMES) == handler_metric_names()
    assert {name for _, name, _ in METHODS} == set(METRIC_NAMES)


@pytest.mark.parametrize(("method", "name", "statistic"), METHODS)
def test_each_metric_is_the_resources_own(named_stack: NamedStack, method: str, name: str, statistic: str) -> None:
    stack = named_stack("Orders")
    execution = ProvisionedProductPlanExecution(stack, "Table", plan_id="plan-abc123")
    default_child = execution.resource.node.default_child
    assert isinstance(default_child, cdk.CfnResource)
    logical_id = stack.resolve(default_child.logical_id)
    assert logical_id.startswith("Table")
    assert config(stack, getattr(execution, method)()) == {
        "namespace": "ServiceCatalogPlanExecution",
        "name": name,
        "statistic": statistic,
        "period": 3600 if name == "Drifted" else 300,
        # Exactly the set the handler publishes for this resource (telemetry.measure_resource).
        "dimensions": {"service": SERVICE, "StackName": "Orders", "LogicalResourceId": logical_id},
    }


def test_the_dimension_names_are_the_handlers(named_stack: NamedStack) -> None:
    stack = named_stack("Orders")
    execution = ProvisionedProductPlanExecution(stack, "Table", plan_id="plan-abc123")
    dimensions = config(stack, execution.metric_plan_executions())["dimensions"]
    assert set(dimensions) == {"service", telemetry.STACK_NAME_DIMENSION, telemetry.LOGICAL_ID_DIMENSION}
    assert dimensions["service"] == telemetry.SERVICE_NAME


def test_metric_options_are_applied_as_aws_cdk_lib_applies_them(named_stack: NamedStack) -> None:
    stack = named_stack("Orders", cdk.Environment(account="111122223333", region="eu-west-1"))
    execution = ProvisionedProductPlanExecution(stack, "Table", plan_id="plan-abc123")
    metric = execution.metric_provisioning_seconds(
        period=cdk.Duration.minutes(1),
        statistic="p90",
        label="Provisioning p90",
        color=cloudwatch.Color.RED,
        unit=cloudwatch.Unit.SECONDS,
    )
    assert config(stack, metric)["period"] == 60
    assert (metric.statistic, metric.label, metric.color, metric.unit) == (
        "p90",
        "Provisioning p90",
        cloudwatch.Color.RED,
        cloudwatch.Unit.SECONDS,
    )
    # Attached to the construct's stack, like Function.metric_errors: its account and Region.
    assert (metric.account, metric.region) == ("111122223333", "eu-west-1")
    # dimensions_map replaces the resource's dimensions (e.g. every provider: `service` alone).
    everywhere = execution.metric_provisioning_failures(dimensions_map={"service": SERVICE})
    assert config(stack, everywhere)["dimensions"] == {"service": SERVICE}
    generic = execution.metric("Restores")
    assert config(stack, generic)["statistic"] == "Average"
    assert config(stack, execution.metric("Restores", statistic="Sum")) == config(stack, execution.metric_restores())


def test_an_overridden_logical_id_is_the_dimension(named_stack: NamedStack) -> None:
    stack = named_stack("Orders")
    execution = ProvisionedProductPlanExecution(stack, "Table", plan_id="plan-abc123")
    default_child = execution.resource.node.default_child
    assert isinstance(default_child, cdk.CfnResource)
    default_child.override_logical_id("OrdersTable")
    assert config(stack, execution.metric_terminations())["dimensions"]["LogicalResourceId"] == "OrdersTable"


def test_alarm_on_failures_is_synthesized_in_the_stack(make_stack: MakeStack) -> None:
    stack = make_stack()
    execution = ProvisionedProductPlanExecution(stack, "Execution", plan_id="plan-abc123")
    alarm = execution.alarm_on_failures()
    assert isinstance(alarm, cloudwatch.Alarm)
    template = Template.from_stack(stack).to_json()
    logical_id = next(k for k, v in template["Resources"].items() if v["Type"] == "Custom::ServiceCatalogPlanExecution")
    # The provider's own alarms (errors, dead letters) are there too: this one watches the resource.
    (alarm_resource,) = [
        v
        for v in template["Resources"].values()
        if v["Type"] == "AWS::CloudWatch::Alarm" and v["Properties"].get("MetricName") == "ProvisioningFailures"
    ]
    assert alarm_resource["Properties"] == {
        "AlarmDescription": (
            "Service Catalog provisioning failed for TestStack/Execution (Custom::ServiceCatalogPlanExecution)"
        ),
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Dimensions": [
            {"Name": "LogicalResourceId", "Value": logical_id},
            {"Name": "StackName", "Value": "TestStack"},
            {"Name": "service", "Value": SERVICE},
        ],
        "EvaluationPeriods": 1,
        "MetricName": "ProvisioningFailures",
        "Namespace": "ServiceCatalogPlanExecution",
        "Period": 300,
        "Statistic": "Sum",
        "Threshold": 1,
        "TreatMissingData": "notBreaching",
    }


def test_alarm_on_failures_takes_the_usual_alarm_settings(make_stack: MakeStack) -> None:
    stack = make_stack()
    execution = ProvisionedProductPlanExecution(stack, "Execution", plan_id="plan-abc123")
    execution.alarm_on_failures(
        threshold=2,
        evaluation_periods=3,
        datapoints_to_alarm=2,
        period=cdk.Duration.minutes(1),
        alarm_name="orders-provisioning",
        alarm_description="Orders could not be provisioned",
        treat_missing_data=cloudwatch.TreatMissingData.MISSING,
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "orders-provisioning",
            "AlarmDescription": "Orders could not be provisioned",
            "Threshold": 2,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 2,
            "Period": 60,
            "TreatMissingData": "missing",
        },
    )


def test_a_tagged_alarmed_spec_mode_stack_is_cdk_nag_clean(cdk_outdir: Path, example: object) -> None:
    app = cdk.App(outdir=str(cdk_outdir))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "NagChecked")
    execution = ProvisionedProductPlanExecution(
        stack,
        "Execution",
        spec=ProductSpec.of(
            product_id="prod-abc123", provisioning_artifact_id="pa-abc123", provisioned_product_name="nag-checked"
        ),
    )
    cdk.Tags.of(stack).add("cost-center", "1234")
    execution.alarm_on_failures()
    app.synth()  # an unacknowledged finding fails here
    report = json.loads((cdk_outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []
