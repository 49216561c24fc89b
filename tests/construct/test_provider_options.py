"""Provider options as platform teams set them (customer-managed key, VPC and endpoints, reserved
concurrency, alarm topic), the failed-invocation machinery every provider has (async invocation
config, dead-letter queue, alarms), and both scanners: cdk-nag and checkov pass with the options
set and without a skip for anything an option covers."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks

from sc_plan_execution import PlanExecutionProviderStack, ProviderOptions, ProvisionedProductPlanExecution
from sc_plan_execution.provider import (
    GATEWAY_ENDPOINTS,
    INTERFACE_ENDPOINTS,
    KEY_USE_ACTIONS,
    LOGS_KEY_ACTIONS,
    NETWORK_INTERFACE_READ_ACTIONS,
    NETWORK_INTERFACE_WRITE_ACTIONS,
)
from sc_plan_execution.scanner_skips import CHECKOV_SKIPS
from support.checkov import run_checkov

ENV = cdk.Environment(account="123456789012", region="eu-west-1")
NO_BUNDLING = {"aws:cdk:bundling-stacks": []}  # templates are what matter here
KEY_CHECKS = {"CKV_AWS_119", "CKV_AWS_158", "CKV_AWS_173", "CKV_AWS_27"}


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    templates: dict[str, dict[str, Any]]
    report: dict[str, Any]

    def resources(self, stack: str, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.templates[stack]["Resources"].items() if v["Type"] == resource_type}

    def one(self, stack: str, resource_type: str) -> dict[str, Any]:
        (resource,) = self.resources(stack, resource_type).values()
        return resource


def _synth(outdir: Path, build: Any) -> Synthesized:
    app = cdk.App(outdir=str(outdir), context=NO_BUNDLING)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    names = build(app)
    app.synth()  # a cdk-nag finding fails the synth
    templates = {name: json.loads((outdir / f"{name}.template.json").read_text()) for name in names}
    return Synthesized(outdir, templates, json.loads((outdir / "validation-report.json").read_text()))


def _shared(app: cdk.App) -> tuple[kms.Key, ec2.Vpc, sns.Topic]:
    """What an organisation already has: a key, a private VPC without NAT, an alarm topic."""
    shared = cdk.Stack(app, "Shared", env=ENV)
    key = kms.Key(shared, "Key", enable_key_rotation=True)
    vpc = ec2.Vpc(
        shared,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
        flow_logs={"all": ec2.FlowLogOptions()},
    )
    topic = sns.Topic(shared, "Alarms", master_key=key, enforce_ssl=True)
    return key, vpc, topic


@pytest.fixture(scope="module")
def with_options(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Every option set, on the construct's stack and on the shared provider stack."""

    def build(app: cdk.App) -> list[str]:
        key, vpc, topic = _shared(app)
        options = ProviderOptions(
            encryption_key=key,
            vpc=vpc,
            create_vpc_endpoints=True,
            reserved_concurrent_executions=5,
            alarm_topic=topic,
            drift_check_schedule=events.Schedule.rate(cdk.Duration.hours(1)),
        )
        stack = cdk.Stack(app, "Construct", env=ENV)
        ProvisionedProductPlanExecution(stack, "Bucket", plan_id="plan-abc123", provider_options=options)
        ProvisionedProductPlanExecution(stack, "Other", plan_id="plan-def456", provider_options=options)
        PlanExecutionProviderStack(app, "ProviderStack", env=ENV, options=options)
        return ["Shared", "Construct", "ProviderStack"]

    return _synth(tmp_path_factory.mktemp("options.out"), build)


@pytest.fixture(scope="module")
def defaults(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    def build(app: cdk.App) -> list[str]:
        ProvisionedProductPlanExecution(cdk.Stack(app, "Construct", env=ENV), "Bucket", plan_id="plan-abc123")
        return ["Construct"]

    return _synth(tmp_path_factory.mktemp("defaults.out"), build)


def _ref_of(synthesized: Synthesized, stack: str, resource_type: str) -> str:
    (logical_id,) = synthesized.resources(stack, resource_type)
    return logical_id


# -- failed invocations, on every provider -------------------------------------------------------


def test_async_invocation_ends_in_an_encrypted_dead_letter_queue(defaults: Synthesized) -> None:
    function = defaults.one("Construct", "AWS::Lambda::Function")
    queue_id = _ref_of(defaults, "Construct", "AWS::SQS::Queue")
    function_id = _ref_of(defaults, "Construct", "AWS::Lambda::Function")
    assert function["Properties"]["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    config = defaults.one("Construct", "AWS::Lambda::EventInvokeConfig")["Properties"]
    # Two retries (idempotent steps); an event older than CloudFormation's longest wait is dropped.
    assert config == {
        "FunctionName": {"Ref": function_id},
        "MaximumEventAgeInSeconds": 3600,
        "MaximumRetryAttempts": 2,
        "Qualifier": "$LATEST",
    }
    queue = defaults.one("Construct", "AWS::SQS::Queue")["Properties"]
    assert queue == {"MessageRetentionPeriod": 4 * 24 * 3600, "SqsManagedSseEnabled": True}
    statements = defaults.one("Construct", "AWS::SQS::QueuePolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert {(s["Effect"], json.dumps(s["Condition"], sort_keys=True)) for s in statements} == {
        ("Deny", json.dumps({"Bool": {"aws:SecureTransport": "false"}})),
        ("Deny", json.dumps({"StringNotEquals": {"aws:PrincipalAccount": "123456789012"}})),
    }
    (other_accounts,) = [s for s in statements if "StringNotEquals" in s["Condition"]]
    assert "sqs:ReceiveMessage" in other_accounts["Action"]
    # The function's role may only send (Lambda sends dead letters with it); nobody is granted reading.
    granted = [
        statement
        for policy in defaults.resources("Construct", "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "sqs" in json.dumps(statement["Action"])
    ]
    assert granted == [{"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": {"Fn::GetAtt": [queue_id, "Arn"]}}]


def test_alarms_on_errors_dead_letters_and_dead_letter_errors(defaults: Synthesized) -> None:
    alarms = defaults.resources("Construct", "AWS::CloudWatch::Alarm")
    metrics = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms.values()}
    assert metrics == {
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "DeadLetterErrors"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    }
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert (props["Threshold"], props["ComparisonOperator"], props["TreatMissingData"]) == (
            1,
            "GreaterThanOrEqualToThreshold",
            "notBreaching",
        )
        assert "AlarmActions" not in props


# -- defaults: each checkov finding a written decision -------------------------------------------


def test_defaults_carry_exactly_the_documented_checkov_skips(defaults: Synthesized) -> None:
    path = defaults.outdir / "Construct.template.json"
    report = run_checkov([path])
    assert report.failed == []
    assert sorted(f.check_id for f in report.skipped) == sorted(
        [
            "CKV_AWS_119",
            "CKV_AWS_119",
            "CKV_AWS_158",
            "CKV_AWS_173",
            "CKV_AWS_117",
            "CKV_AWS_115",
            "CKV_AWS_27",
            "CKV_AWS_28",
        ]
    )
    assert {f.comment for f in report.skipped} <= set(CHECKOV_SKIPS.values())


# -- options set ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["Construct", "ProviderStack"])
def test_customer_managed_key_encrypts_tables_logs_environment_and_dead_letters(
    with_options: Synthesized, stack: str
) -> None:
    function = with_options.one(stack, "AWS::Lambda::Function")["Properties"]
    key = function["KmsKeyArn"]
    assert "Fn::ImportValue" in key  # the Shared stack's key, by its ARN
    for table in with_options.resources(stack, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["SSESpecification"] == {"KMSMasterKeyId": key, "SSEEnabled": True, "SSEType": "KMS"}
    assert with_options.one(stack, "AWS::Logs::LogGroup")["Properties"]["KmsKeyId"] == key
    queue = with_options.one(stack, "AWS::SQS::Queue")["Properties"]
    assert queue["KmsMasterKeyId"] == key and "SqsManagedSseEnabled" not in queue
    # The role uses the key only through DynamoDB and SQS, for decrypting and generating data keys.
    role = with_options.one(stack, "AWS::IAM::Role")["Properties"]
    (key_policy,) = [p for p in role["Policies"] if p["PolicyName"] == "EncryptionKey"]
    (statement,) = key_policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == list(KEY_USE_ACTIONS) and statement["Resource"] == key
    assert statement["Condition"] == {
        "StringEquals": {"kms:ViaService": ["dynamodb.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com"]}
    }


def test_key_policy_lets_cloudwatch_logs_of_the_region_use_the_key(with_options: Synthesized) -> None:
    key = with_options.one("Shared", "AWS::KMS::Key")["Properties"]["KeyPolicy"]["Statement"]
    logs_statements = [s for s in key if s.get("Sid") == "CloudWatchLogsOfThisAccountAndRegion"]
    # Both providers (the construct's stack and the provider stack) need the same grant: it is there once.
    (statement,) = logs_statements
    assert statement["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert statement["Action"] == list(LOGS_KEY_ACTIONS)
    assert statement["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":logs:eu-west-1:123456789012:log-group:*"]]
            }
        }
    }


def test_imported_key_warns_that_its_policy_must_admit_logs(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context=NO_BUNDLING)
    stack = cdk.Stack(app, "Imported", env=ENV)
    key = kms.Key.from_key_arn(
        stack, "Key", "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    )
    ProvisionedProductPlanExecution(
        stack, "Bucket", plan_id="plan-abc", provider_options=ProviderOptions(encryption_key=key)
    )
    warnings = cdk.assertions.Annotations.from_stack(stack).find_warning("*", cdk.assertions.Match.any_value())
    assert any("logs.<region>.amazonaws.com" in str(w.entry.data) for w in warnings), warnings


@pytest.mark.parametrize("stack", ["Construct", "ProviderStack"])
def test_vpc_runs_the_function_in_private_subnets_with_inline_network_permissions(
    with_options: Synthesized, stack: str
) -> None:
    function = with_options.one(stack, "AWS::Lambda::Function")
    vpc_config = function["Properties"]["VpcConfig"]
    assert len(vpc_config["SubnetIds"]) == 2 and len(vpc_config["SecurityGroupIds"]) == 1
    role = with_options.one(stack, "AWS::IAM::Role")["Properties"]
    assert "ManagedPolicyArns" not in role  # no AWSLambdaVPCAccessExecutionRole (AwsSolutions-IAM4)
    (network,) = [p for p in role["Policies"] if p["PolicyName"] == "NetworkInterfaces"]
    read, write = network["PolicyDocument"]["Statement"]
    assert read["Action"] == list(NETWORK_INTERFACE_READ_ACTIONS) and read["Resource"] == "*"
    assert write["Action"] == list(NETWORK_INTERFACE_WRITE_ACTIONS)
    assert write["Resource"] == {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ec2:eu-west-1:*:*/*"]]}
    assert function["DependsOn"] and role  # the role (and so its inline policies) exists before the function


@pytest.mark.parametrize("stack", ["Construct", "ProviderStack"])
def test_vpc_endpoints_admit_only_the_function(with_options: Synthesized, stack: str) -> None:
    endpoints = list(with_options.resources(stack, "AWS::EC2::VPCEndpoint").values())
    interface = [e["Properties"] for e in endpoints if e["Properties"].get("VpcEndpointType") == "Interface"]
    gateway = [e["Properties"] for e in endpoints if e["Properties"].get("VpcEndpointType") != "Interface"]
    names = json.dumps([e["ServiceName"] for e in interface])
    for service in ("servicecatalog", "lambda", "xray"):
        assert f".{service}" in names or f'.{service}"' in names, names
    assert len(interface) == len(INTERFACE_ENDPOINTS) and all(e["PrivateDnsEnabled"] for e in interface)
    gateway_names = json.dumps([e["ServiceName"] for e in gateway])
    assert len(gateway) == len(GATEWAY_ENDPOINTS) and ".dynamodb" in gateway_names and ".s3" in gateway_names
    (ingress,) = with_options.resources(stack, "AWS::EC2::SecurityGroupIngress").values()
    function_group = with_options.one(stack, "AWS::Lambda::Function")["Properties"]["VpcConfig"]["SecurityGroupIds"][0]
    assert (ingress["Properties"]["FromPort"], ingress["Properties"]["ToPort"]) == (443, 443)
    assert ingress["Properties"]["SourceSecurityGroupId"] == function_group


@pytest.mark.parametrize("stack", ["Construct", "ProviderStack"])
def test_reserved_concurrency_and_alarm_topic(with_options: Synthesized, stack: str) -> None:
    assert with_options.one(stack, "AWS::Lambda::Function")["Properties"]["ReservedConcurrentExecutions"] == 5
    alarms = with_options.resources(stack, "AWS::CloudWatch::Alarm").values()
    assert len(alarms) == 3
    actions = {json.dumps(a["Properties"]["AlarmActions"]) for a in alarms}
    assert len(actions) == 1 and "ImportValue" in actions.pop()  # the Shared stack's topic


def test_options_pass_cdk_nag_and_checkov_without_skips(with_options: Synthesized) -> None:
    assert [v for plugin in with_options.report["pluginReports"] for v in plugin.get("violations", [])] == []
    report = run_checkov([with_options.outdir / f"{name}.template.json" for name in ("Construct", "ProviderStack")])
    assert report.failed == []
    # Left: only the requests table's point-in-time recovery, a decision no option changes.
    assert [(f.check_id, f.resource.split(".")[0]) for f in report.skipped] == [
        ("CKV_AWS_28", "AWS::DynamoDB::Table"),
        ("CKV_AWS_28", "AWS::DynamoDB::Table"),
    ]


# -- one provider per stack ----------------------------------------------------------------------


def test_conflicting_options_for_one_stack_fail_at_synth() -> None:
    app = cdk.App(context=NO_BUNDLING)
    stack = cdk.Stack(app, "Conflict")
    ProvisionedProductPlanExecution(
        stack, "First", plan_id="plan-a", provider_options=ProviderOptions(reserved_concurrent_executions=2)
    )
    ProvisionedProductPlanExecution(stack, "Second", plan_id="plan-b")  # None: takes the provider as it is
    with pytest.raises(ValueError, match=r"already has its one provider.*reserved_concurrent_executions=2.*Third"):
        ProvisionedProductPlanExecution(
            stack, "Third", plan_id="plan-c", provider_options=ProviderOptions(reserved_concurrent_executions=3)
        )


def test_option_values_are_checked() -> None:
    with pytest.raises(ValueError, match="need vpc="):
        ProviderOptions(create_vpc_endpoints=True)
    with pytest.raises(ValueError, match="at least 1"):
        ProviderOptions(reserved_concurrent_executions=0)


def test_provider_stack_rejects_a_construct_asking_for_other_options(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path), context=NO_BUNDLING)
    provider_stack = PlanExecutionProviderStack(app, "P", options=ProviderOptions(reserved_concurrent_executions=4))
    ProvisionedProductPlanExecution(
        provider_stack, "Same", plan_id="plan-a", provider_options=ProviderOptions(reserved_concurrent_executions=4)
    )
    with pytest.raises(ValueError, match="already has its one provider"):
        ProvisionedProductPlanExecution(provider_stack, "Other", plan_id="plan-b", provider_options=ProviderOptions())


def test_an_ephemeral_provider_deletes_its_owners_table_and_log_group_behind_a_guard(tmp_path: Path) -> None:
    """removal_policy=DESTROY: the table and the log group go with the stack, but only after the
    guard (which every resource depends on, and which depends on the table) let them; cdk-nag
    stays clean (the synth fails on a finding)."""

    def build(app: cdk.App) -> list[str]:
        stack = cdk.Stack(app, "Ephemeral", env=ENV)
        options = ProviderOptions(removal_policy=cdk.RemovalPolicy.DESTROY)
        ProvisionedProductPlanExecution(stack, "Bucket", plan_id="plan-abc123", provider_options=options)
        ProvisionedProductPlanExecution(cdk.Stack(app, "Kept", env=ENV), "Bucket", plan_id="plan-abc123")
        return ["Ephemeral", "Kept"]

    synthesized = _synth(tmp_path, build)
    resources = synthesized.templates["Ephemeral"]["Resources"]
    (table_id,) = [
        k
        for k, v in resources.items()
        if v["Type"] == "AWS::DynamoDB::Table"
        and v["Properties"]["KeySchema"][0]["AttributeName"] == "ProvisionedProductId"
    ]
    assert resources[table_id]["DeletionPolicy"] == "Delete"
    assert synthesized.one("Ephemeral", "AWS::Logs::LogGroup")["DeletionPolicy"] == "Delete"
    (guard_id,) = synthesized.resources("Ephemeral", "Custom::ServiceCatalogPlanExecutionOwnersGuard")
    assert table_id in resources[guard_id]["DependsOn"]
    assert guard_id in synthesized.one("Ephemeral", "Custom::ServiceCatalogPlanExecution")["DependsOn"]
    statements = [
        s
        for policy in synthesized.resources("Ephemeral", "AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (scan,) = [s for s in statements if "dynamodb:Scan" in s["Action"]]
    assert scan["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}

    kept = synthesized.templates["Kept"]["Resources"]
    assert [v["DeletionPolicy"] for v in kept.values() if v["Type"] == "AWS::Logs::LogGroup"] == ["Retain"]
    assert not synthesized.resources("Kept", "Custom::ServiceCatalogPlanExecutionOwnersGuard")
    kept_actions = json.dumps([v for v in kept.values() if v["Type"] == "AWS::IAM::Policy"])
    assert "dynamodb:Scan" not in kept_actions


def test_removal_policy_snapshot_is_refused() -> None:
    with pytest.raises(ValueError, match=r"removal_policy .* is not supported"):
        ProviderOptions(removal_policy=cdk.RemovalPolicy.SNAPSHOT)


def test_a_drift_check_schedule_invokes_the_function_with_the_check_event(tmp_path: Path) -> None:
    """drift_check_schedule: an EventBridge rule whose input is the event the handler runs the drift
    check for, Lambda's permission for that rule alone, and Scan on the owners table; the construct's
    drift alarm watches its resource's Drifted metric. Without the option: no rule, no Scan."""
    from sc_plan_provider.routes.drift_check import DRIFT_CHECK_EVENT_KEY, is_drift_check

    def build(app: cdk.App) -> list[str]:
        stack = cdk.Stack(app, "Checked", env=ENV)
        options = ProviderOptions(drift_check_schedule=events.Schedule.rate(cdk.Duration.hours(6)))
        bucket = ProvisionedProductPlanExecution(stack, "Bucket", plan_id="plan-abc123", provider_options=options)
        bucket.alarm_on_drift()
        ProvisionedProductPlanExecution(cdk.Stack(app, "Unchecked", env=ENV), "Bucket", plan_id="plan-abc123")
        return ["Checked", "Unchecked"]

    synthesized = _synth(tmp_path, build)
    rule = synthesized.one("Checked", "AWS::Events::Rule")["Properties"]
    assert rule["ScheduleExpression"] == "rate(6 hours)"
    (target,) = rule["Targets"]
    assert is_drift_check(json.loads(target["Input"])) and DRIFT_CHECK_EVENT_KEY in target["Input"]
    function_id = _ref_of(synthesized, "Checked", "AWS::Lambda::Function")
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0}
    permission = synthesized.one("Checked", "AWS::Lambda::Permission")["Properties"]
    (rule_id,) = synthesized.resources("Checked", "AWS::Events::Rule")
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
    statements = json.dumps(
        [v for v in synthesized.templates["Checked"]["Resources"].values() if v["Type"] == "AWS::IAM::Policy"]
    )
    assert "dynamodb:Scan" in statements
    (alarm,) = [
        a["Properties"]
        for a in synthesized.resources("Checked", "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "Drifted"
    ]
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["Statistic"], alarm["Period"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
        "Maximum",
        3600,
    )
    assert alarm["TreatMissingData"] == "ignore"
    assert {d["Name"] for d in alarm["Dimensions"]} == {"service", "StackName", "LogicalResourceId"}
    # cfn-lint as `make scan` runs it (cdk-nag already passed: the synth fails on a finding).
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    linted = subprocess.run(
        [str(cfn_lint), "--ignore-checks", "W3005", "--", str(tmp_path / "Checked.template.json")],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert linted.returncode == 0, linted.stdout
    assert run_checkov([tmp_path / "Checked.template.json"]).failed == []
    assert not synthesized.resources("Unchecked", "AWS::Events::Rule")
    unchecked = [v for v in synthesized.templates["Unchecked"]["Resources"].values() if v["Type"] == "AWS::IAM::Policy"]
    assert "dynamodb:Scan" not in json.dumps(unchecked)
