"""CloudWatch metrics of one `ProvisionedProductPlanExecution`, as aws-cdk-lib's constructs offer theirs.

The handler publishes EMF metrics (namespace `ServiceCatalogPlanExecution`) with two dimension
sets each: `service` alone (every provider of the account and Region together) and `service`,
`StackName`, `LogicalResourceId` (the one resource that asked; `sc_plan_provider.core.telemetry`).
CloudWatch matches a metric by its exact dimension set, so a resource's metrics carry all three.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

from aws_cdk import CfnResource, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from sc_plan_execution.provider import ENVIRONMENT

NAMESPACE = ENVIRONMENT["POWERTOOLS_METRICS_NAMESPACE"]
SERVICE = ENVIRONMENT["POWERTOOLS_SERVICE_NAME"]

# Dimension names: Powertools' own `service`, and the two the handler adds per request.
SERVICE_DIMENSION = "service"
STACK_NAME_DIMENSION = "StackName"
LOGICAL_ID_DIMENSION = "LogicalResourceId"

# Every metric the handler publishes (`metrics.add_metric` in sc_plan_provider; a test keeps this
# list and the handler's calls equal).
PLAN_EXECUTIONS = "PlanExecutions"  # a plan executed (Count)
PROVISIONING_FAILURES = "ProvisioningFailures"  # a provisioning or update that failed (Count)
PROVISIONING_SECONDS = "ProvisioningSeconds"  # how long a provisioning or update took (Seconds)
TERMINATIONS = "Terminations"  # a product terminated on Delete (Count)
CONTINUATIONS = "Continuations"  # a request handed over to a new invocation (Count)
RESTORES = "Restores"  # an earlier plan or spec re-applied, e.g. in a rollback (Count)
REFUSED_REQUESTS = "RefusedRequests"  # a request CloudFormation did not send, or no longer waits for (Count)
DRIFTED = (
    "Drifted"  # the scheduled drift check: 1 the product drifted, 0 in sync (ProviderOptions.drift_check_schedule)
)
METRIC_NAMES = (
    PLAN_EXECUTIONS,
    PROVISIONING_FAILURES,
    PROVISIONING_SECONDS,
    TERMINATIONS,
    CONTINUATIONS,
    RESTORES,
    REFUSED_REQUESTS,
    DRIFTED,
)


class MetricOptions(TypedDict, total=False):
    """`aws_cloudwatch.MetricOptions` as keyword arguments (what `Function.metric_errors(...)` takes)."""

    account: str
    color: str
    dimensions_map: Mapping[str, str]
    id: str
    label: str
    period: Duration
    region: str
    stack_account: str
    stack_region: str
    statistic: str
    unit: cloudwatch.Unit
    visible: bool


def resource_dimensions(resource: CfnResource) -> dict[str, str]:
    """The dimension set the handler publishes for this custom resource: its stack's name and its
    logical id as CloudFormation sends them (tokens that resolve to both, overrides included)."""
    return {
        SERVICE_DIMENSION: SERVICE,
        STACK_NAME_DIMENSION: Stack.of(resource).stack_name,
        LOGICAL_ID_DIMENSION: resource.logical_id,
    }


def resource_metric(
    scope: Construct,
    dimensions: Mapping[str, str],
    metric_name: str,
    default_statistic: str,
    options: MetricOptions,
) -> cloudwatch.Metric:
    """Like aws-cdk-lib's `metric()`: the resource's dimensions unless `dimensions_map` replaces them,
    the given statistic unless `statistic` does, and attached to the scope's stack (account, Region)."""
    settings: MetricOptions = {"dimensions_map": dimensions, "statistic": default_statistic, **options}
    return cloudwatch.Metric(namespace=NAMESPACE, metric_name=metric_name, **settings).attach_to(scope)


# CloudWatch's (and aws-cdk-lib's) default period for a metric.
DEFAULT_PERIOD = Duration.minutes(5)
FAILURES_ALARM_ID = "ProvisioningFailuresAlarm"
DRIFT_ALARM_ID = "DriftAlarm"
# The drift check runs on a schedule (hourly is typical): one datapoint per check.
DRIFT_PERIOD = Duration.hours(1)


def failures_alarm(
    scope: Construct,
    failures: cloudwatch.Metric,
    *,
    threshold: float,
    evaluation_periods: int,
    datapoints_to_alarm: int | None,
    alarm_name: str | None,
    alarm_description: str | None,
    treat_missing_data: cloudwatch.TreatMissingData,
) -> cloudwatch.Alarm:
    """An alarm on `failures` >= `threshold`: one failed provisioning is already worth a look."""
    return cloudwatch.Alarm(
        scope,
        FAILURES_ALARM_ID,
        metric=failures,
        threshold=threshold,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=treat_missing_data,
        alarm_name=alarm_name,
        alarm_description=alarm_description
        or f"Service Catalog provisioning failed for {scope.node.path} (Custom::ServiceCatalogPlanExecution)",
    )
