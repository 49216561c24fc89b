"""What an organisation may require of the provider function, one prop each.

Every option is off by default, and each default is a decision written down in docs/operations.md
("Options platform teams require"): AWS-owned keys (no cost, nothing to manage), no VPC (the
function only calls AWS APIs), no reserved concurrency (nothing taken from the account's pool).

`ProviderOptions` is what CDK users pass (`provider_options=` of the construct, `options=` of
`PlanExecutionProviderStack` and `PlanExecutionProvider`). `ParameterizedOptions` is the same set
as CloudFormation parameters, each switched on by a Condition: the packaged template's form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from aws_cdk import CfnCondition, RemovalPolicy, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

T = TypeVar("T")


@dataclass(frozen=True)
class ProviderOptions:
    """Options of the one provider a stack has; compared whole, so two constructs that ask for
    different options in one stack fail at synth instead of silently sharing one.

    :param encryption_key: customer-managed KMS key for both tables, the log group, the function's
        environment and the dead-letter queue; default AWS-owned keys.
    :param vpc: run the function in this VPC (it then needs endpoints or NAT; see docs/operations.md).
    :param vpc_subnets: which of the VPC's subnets; default CDK's choice (private subnets).
    :param security_groups: the function's security groups; default one created for it.
    :param create_vpc_endpoints: create the endpoints the function needs in `vpc` (Service
        Catalog, Lambda and X-Ray interface endpoints behind a security group that admits HTTPS from
        the function; DynamoDB and S3 gateway endpoints). Once per VPC: private DNS names are unique.
    :param reserved_concurrent_executions: reserve this much of the account's concurrency for
        the function (and cap it there).
    :param alarm_topic: SNS topic the provider's alarms notify; default none (alarms still exist).
    :param removal_policy: what deleting the provider's stack does to its owners table and log group:
        RETAIN (the default) keeps both; DESTROY, for ephemeral stacks (tests, previews), deletes
        them, but the deletion stops (DELETE_FAILED, table kept) while the table holds the owner
        record of a product that still exists (routes/owners_guard.py).
    :param drift_check_schedule: run the drift check on this schedule (e.g.
        `events.Schedule.rate(Duration.hours(1))`): every product the provider manages is compared
        with what its stack declares, and a `Drifted` metric is published per resource (the
        construct's `metric_drifted()`, `alarm_on_drift()`; docs/drift.md). Default: no schedule.
    """

    encryption_key: kms.IKey | None = None
    vpc: ec2.IVpc | None = None
    vpc_subnets: ec2.SubnetSelection | None = None
    security_groups: Sequence[ec2.ISecurityGroup] = field(default_factory=tuple)
    create_vpc_endpoints: bool = False
    reserved_concurrent_executions: int | None = None
    alarm_topic: sns.ITopic | None = None
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    drift_check_schedule: events.Schedule | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "security_groups", tuple(self.security_groups))
        if self.vpc is None and (self.vpc_subnets is not None or self.security_groups or self.create_vpc_endpoints):
            raise ValueError("vpc_subnets, security_groups and create_vpc_endpoints need vpc= (the function's VPC).")
        if self.removal_policy not in (RemovalPolicy.RETAIN, RemovalPolicy.DESTROY):
            raise ValueError(
                f"removal_policy {self.removal_policy} is not supported: use RemovalPolicy.RETAIN (keep the owners "
                "table and the log group) or RemovalPolicy.DESTROY (ephemeral stacks)."
            )
        concurrency = self.reserved_concurrent_executions
        if concurrency is not None and not Token.is_unresolved(concurrency) and concurrency < 1:
            raise ValueError(
                f"reserved_concurrent_executions {concurrency} must be at least 1: 0 would stop every request "
                "(leave it None for no reservation)."
            )

    def describe(self) -> str:
        """The options that are set, for error messages."""
        parts = [
            f"{name}={value!r}"
            for name, value in vars(self).items()
            if value not in (None, False, (), RemovalPolicy.RETAIN) and not name.startswith("_")
        ]
        return ", ".join(parts) or "defaults"


@dataclass(frozen=True)
class Conditional(Generic[T]):
    """A value that is in the template only while `condition` (on parameters) holds."""

    value: T
    condition: CfnCondition


@dataclass(frozen=True)
class VpcConfig:
    """Subnet and security group ids as template values (a CommaDelimitedList parameter's Ref)."""

    subnet_ids: list[str]
    security_group_ids: list[str]


@dataclass(frozen=True)
class ParameterizedOptions:
    """The options as CloudFormation parameters (the packaged template): each applies only under
    its condition, so one template serves every combination."""

    encryption_key: Conditional[kms.IKey]
    vpc_config: Conditional[VpcConfig]
    reserved_concurrent_executions: Conditional[float]
    alarm_topic: Conditional[sns.ITopic]
    drift_check_schedule: Conditional[events.Schedule]
