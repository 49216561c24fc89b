"""Template tests for ProvisionedProductPlanExecution and its shared provider."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_servicecatalog as servicecatalog
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from sc_plan_execution import (
    RESOURCE_TYPE,
    SERVICE_CATALOG_ACTIONS,
    InvalidPropertyError,
    PollingPolicy,
    ProductSpec,
    ProviderOptions,
    ProvisionedProductPlanExecution,
)

MakeStack = Callable[[], cdk.Stack]
PLAN = "plan-abc123"


def _template(stack: cdk.Stack) -> Template:
    return Template.from_stack(stack)


def _single(template: Template, resource_type: str) -> dict[str, Any]:
    resources = template.find_resources(resource_type)
    assert len(resources) == 1, resources
    return next(iter(resources.values()))


def _custom_resources(template: Template) -> dict[str, dict[str, Any]]:
    return template.find_resources(RESOURCE_TYPE)


def _actions(template: Template) -> set[str]:
    """Every IAM action granted anywhere in the template (role inline policies and policies)."""
    documents = [r["Properties"]["PolicyDocument"] for r in template.find_resources("AWS::IAM::Policy").values()]
    for role in template.find_resources("AWS::IAM::Role").values():
        documents += [p["PolicyDocument"] for p in role["Properties"].get("Policies", [])]
    actions: set[str] = set()
    for document in documents:
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            value = statement["Action"]
            actions.update([value] if isinstance(value, str) else value)
    return actions


def test_provider_function_settings(make_stack: MakeStack) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Execution", plan_id=PLAN)
    template = _template(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.14",
            "Architectures": ["arm64"],
            "Timeout": 900,
            "MemorySize": 256,
            "Handler": "sc_plan_provider.handler.lambda_handler",
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogGroup": {"Ref": Match.string_like_regexp("LogGroup")}},
            "Environment": {
                "Variables": {
                    "POWERTOOLS_SERVICE_NAME": "servicecatalog-plan-execution",
                    "POWERTOOLS_METRICS_NAMESPACE": "ServiceCatalogPlanExecution",
                    "POWERTOOLS_LOG_LEVEL": "INFO",
                }
            },
        },
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_iam_grants_exactly_the_handler_actions(make_stack: MakeStack) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Execution", plan_id=PLAN)
    template = _template(stack)
    actions = _actions(template)
    assert {a for a in actions if a.startswith("servicecatalog:")} == set(SERVICE_CATALOG_ACTIONS)
    assert set(SERVICE_CATALOG_ACTIONS) == {
        "servicecatalog:DescribeProvisionedProductPlan",
        "servicecatalog:ExecuteProvisionedProductPlan",
        "servicecatalog:DescribeRecord",
        "servicecatalog:DescribeProvisionedProduct",
        "servicecatalog:TerminateProvisionedProduct",
        "servicecatalog:UpdateProvisionedProduct",
        "servicecatalog:ListRecordHistory",
        "servicecatalog:CreateProvisionedProductPlan",
        "servicecatalog:DeleteProvisionedProductPlan",
        "servicecatalog:ListProvisionedProductPlans",
        "servicecatalog:DescribeProduct",
        "servicecatalog:DescribeProvisioningParameters",
    }
    # Least privilege overall: Service Catalog, the two CloudFormation reads that confirm a request,
    # the function's own log group, X-Ray, the request ledger table, invoking itself (continuation)
    # and its dead-letter queue. Nothing else.
    assert actions == set(SERVICE_CATALOG_ACTIONS) | {
        "cloudformation:DescribeStackResource",
        "cloudformation:DescribeStacks",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "lambda:InvokeFunction",
        "sqs:SendMessage",
    }
    role = _single(template, "AWS::IAM::Role")
    assert "ManagedPolicyArns" not in role["Properties"]
    (confirm,) = [p["PolicyDocument"] for p in role["Properties"]["Policies"] if p["PolicyName"] == "ConfirmRequests"]
    (statement,) = confirm["Statement"]
    # Exactly the two reads, on this account's and Region's stacks only.
    assert statement["Action"] == ["cloudformation:DescribeStackResource", "cloudformation:DescribeStacks"]
    assert stack.resolve(statement["Resource"]) == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":cloudformation:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":stack/*/*",
            ],
        ]
    }


def test_default_properties(make_stack: MakeStack) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Execution", plan_id=PLAN)
    resource = _single(_template(stack), RESOURCE_TYPE)
    properties = resource["Properties"]
    assert set(properties) == {"ServiceToken", "ServiceTimeout", "PlanId"}
    assert properties["PlanId"] == PLAN
    assert properties["ServiceTimeout"] == "3600"
    assert resource["DeletionPolicy"] == "Delete"


def test_all_properties_are_emitted_as_strings(make_stack: MakeStack) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(
        stack,
        "Execution",
        plan_id=PLAN,
        accept_language="jp",
        polling=PollingPolicy(interval_seconds=2, backoff_rate=1.5, max_interval_seconds=60),
        deadline=cdk.Duration.minutes(25),
        service_timeout=cdk.Duration.minutes(30),
    )
    properties = _single(_template(stack), RESOURCE_TYPE)["Properties"]
    assert {k: v for k, v in properties.items() if k != "ServiceToken"} == {
        "PlanId": PLAN,
        "AcceptLanguage": "jp",
        "PollingIntervalSeconds": "2",
        "PollingBackoffRate": "1.5",
        "PollingMaxIntervalSeconds": "60",
        "DeadlineSeconds": "1500",
        "ServiceTimeout": "1800",
    }


def test_one_provider_function_for_many_instances(make_stack: MakeStack) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "First", plan_id=PLAN)
    ProvisionedProductPlanExecution(stack, "Second", plan_id="plan-def456")
    template = _template(stack)
    template.resource_count_is("AWS::Lambda::Function", 1)
    template.resource_count_is("AWS::IAM::Role", 1)
    template.resource_count_is("AWS::Logs::LogGroup", 1)
    tokens = [r["Properties"]["ServiceToken"] for r in _custom_resources(template).values()]
    assert len(tokens) == 2 and tokens[0] == tokens[1]


def test_retain_keeps_the_product(make_stack: MakeStack) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Execution", plan_id=PLAN, removal_policy=cdk.RemovalPolicy.RETAIN)
    resource = _single(_template(stack), RESOURCE_TYPE)
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


def test_portfolio_association_once_and_before_execution(make_stack: MakeStack) -> None:
    stack = make_stack()
    portfolio = servicecatalog.Portfolio(stack, "Portfolio", display_name="Demo", provider_name="Platform")
    ProvisionedProductPlanExecution(stack, "First", plan_id=PLAN, portfolio=portfolio)
    ProvisionedProductPlanExecution(stack, "Second", plan_id=PLAN, portfolio=portfolio)
    template = _template(stack)
    associations = template.find_resources(
        "AWS::ServiceCatalog::PortfolioPrincipalAssociation",
        {
            "Properties": {
                "PortfolioId": {"Ref": Match.string_like_regexp("Portfolio")},
                "PrincipalARN": {"Fn::GetAtt": [Match.string_like_regexp("ProviderRole"), "Arn"]},
                "PrincipalType": "IAM",
            }
        },
    )
    assert len(associations) == 1
    (association_id,) = associations
    for resource in _custom_resources(template).values():
        assert association_id in resource.get("DependsOn", [])


def test_imported_portfolio_is_associated(make_stack: MakeStack) -> None:
    stack = make_stack()
    portfolio = servicecatalog.Portfolio.from_portfolio_arn(
        stack, "Imported", "arn:aws:catalog:eu-west-1:123456789012:portfolio/port-abcdefghijklm"
    )
    ProvisionedProductPlanExecution(stack, "Execution", plan_id=PLAN, portfolio=portfolio)
    _template(stack).has_resource_properties(
        "AWS::ServiceCatalog::PortfolioPrincipalAssociation", {"PortfolioId": "port-abcdefghijklm"}
    )


def test_attributes_resolve_to_ref_and_getatt(make_stack: MakeStack) -> None:
    stack = make_stack()
    execution = ProvisionedProductPlanExecution(stack, "Execution", plan_id=PLAN)
    logical_id = stack.get_logical_id(execution.resource.node.default_child)  # type: ignore[arg-type]
    assert stack.resolve(execution.provisioned_product_id) == {"Ref": logical_id}
    assert stack.resolve(execution.record_id) == {"Fn::GetAtt": [logical_id, "RecordId"]}
    assert stack.resolve(execution.get_output("BucketName")) == {"Fn::GetAtt": [logical_id, "Outputs.BucketName"]}
    assert stack.resolve(execution.changes_add) == {"Fn::GetAtt": [logical_id, "Changes.Add"]}
    assert stack.resolve(execution.changes_modify) == {"Fn::GetAtt": [logical_id, "Changes.Modify"]}
    assert stack.resolve(execution.changes_remove) == {"Fn::GetAtt": [logical_id, "Changes.Remove"]}
    assert stack.resolve(execution.changes_replace) == {"Fn::GetAtt": [logical_id, "Changes.Replace"]}


def test_allow_flags_are_emitted_only_when_set(make_stack: MakeStack) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Default", plan_id=PLAN)
    ProvisionedProductPlanExecution(stack, "Allowing", plan_id=PLAN, allow_replacement=True, allow_removal=True)
    flags = sorted(
        (r["Properties"].get("AllowReplacement", "-"), r["Properties"].get("AllowRemoval", "-"))
        for r in _custom_resources(_template(stack)).values()
    )
    assert flags == [("-", "-"), ("true", "true")]


def test_token_plan_id_is_passed_through(make_stack: MakeStack) -> None:
    stack = make_stack()
    parameter = cdk.CfnParameter(stack, "PlanId")
    ProvisionedProductPlanExecution(stack, "Execution", plan_id=parameter.value_as_string)
    properties = _single(_template(stack), RESOURCE_TYPE)["Properties"]
    assert properties["PlanId"] == {"Ref": "PlanId"}


@pytest.mark.parametrize(
    ("props", "named"),
    [
        ({"plan_id": "not a plan id!"}, "plan_id: PlanId"),
        ({"plan_id": ""}, "plan_id: PlanId"),
        ({"plan_id": "x" * 101}, "plan_id: PlanId"),
        ({"accept_language": "fr"}, "accept_language: AcceptLanguage"),
        ({"polling": PollingPolicy(interval_seconds=0.01)}, "polling.interval_seconds: PollingIntervalSeconds"),
        ({"polling": PollingPolicy(backoff_rate=0.5)}, "polling.backoff_rate: PollingBackoffRate"),
        (
            {"polling": PollingPolicy(interval_seconds=10, max_interval_seconds=5)},
            "polling.max_interval_seconds: PollingMaxIntervalSeconds",
        ),
        (
            {"deadline": cdk.Duration.hours(2)},
            r"deadline Duration.hours\(2\) is out of range: .* at most the service_timeout, Duration.hours\(1\)",
        ),
        (
            {"deadline": cdk.Duration.minutes(20), "service_timeout": cdk.Duration.minutes(10)},
            r"deadline Duration.minutes\(20\) .* at most the service_timeout, Duration.minutes\(10\)",
        ),
        (
            {"service_timeout": cdk.Duration.hours(2)},
            r"service_timeout Duration.hours\(2\) is out of range: .*at most Duration.hours\(1\)",
        ),
        ({"service_timeout": cdk.Duration.seconds(0)}, r"service_timeout Duration.seconds\(0\) is out of range"),
        ({"allow_replacement": "yes"}, "AllowReplacement"),
        ({"allow_removal": 1}, "AllowRemoval"),
        ({"learned_polling": "yes"}, "learned_polling"),
    ],
)
def test_synth_time_validation_names_the_prop_in_the_users_terms(props: dict[str, Any], named: str) -> None:
    # No synth needed: validation happens in the constructor, before any resource exists.
    stack = cdk.Stack(cdk.App(), "ValidationStack")
    kwargs: dict[str, Any] = {"plan_id": PLAN, **props}
    with pytest.raises(InvalidPropertyError, match=named):
        ProvisionedProductPlanExecution(stack, "Execution", **kwargs)
    assert stack.node.try_find_child("ServiceCatalogPlanExecutionProvider") is None


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({}, None),  # learned polling on (the handler's default without Polling*)
        ({"polling": PollingPolicy(interval_seconds=2)}, None),  # the user's policy alone
        ({"polling": PollingPolicy(interval_seconds=2), "learned_polling": True}, "true"),
        ({"learned_polling": False}, "false"),
    ],
)
def test_learned_polling_is_a_prop_of_its_own(
    make_stack: MakeStack, props: dict[str, Any], expected: str | None
) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Execution", plan_id=PLAN, **props)
    properties = _single(_template(stack), RESOURCE_TYPE)["Properties"]
    assert properties.get("LearnedPolling") == expected


def test_wildcard_policy_check_is_live(tmp_path: Path) -> None:
    """cdk-nag really runs in this setup: an unacknowledged wildcard fails the synth and is reported."""
    app = cdk.App(outdir=str(tmp_path))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "NagStack")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]}
    assert rules == {"AwsSolutions-IAM5[Resource::*]"}


def test_asset_hash_follows_sources_not_byte_code(tmp_path: Path) -> None:
    from sc_plan_execution import LocalPipBundling

    package = tmp_path / "sc_plan_provider"
    package.mkdir()
    (package / "requirements.txt").write_text("crhelper==2.0.12\n")
    (package / "handler.py").write_text("X = 1\n")
    bundler = LocalPipBundling(package)
    first = bundler.fingerprint()
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    assert bundler.fingerprint() == first
    (package / "handler.py").write_text("X = 2\n")
    assert bundler.fingerprint() != first
    changed_code = bundler.fingerprint()
    (package / "requirements.txt").write_text("crhelper==2.0.11\n")
    assert bundler.fingerprint() != changed_code


def test_continuation_needs_no_run_time_permission_changes(make_stack: MakeStack) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Execution", plan_id=PLAN)
    assertions = _template(stack)
    template = assertions.to_json()
    statements = [
        statement
        for policy in [*template["Resources"].values()]
        if policy["Type"] in ("AWS::IAM::Policy", "AWS::IAM::Role")
        for document in _policy_documents(policy)
        for statement in document["Statement"]
    ]
    by_action = {action: statement for statement in statements for action in _as_list(statement["Action"])}
    function_id = _logical_id(template, "AWS::Lambda::Function")
    table_id = _table_keyed_by(template, "RequestKey")
    # The function itself, and its versions and aliases (a ServiceToken naming an alias continues on it).
    function_arn = {"Fn::GetAtt": [function_id, "Arn"]}
    assert by_action["lambda:InvokeFunction"]["Resource"] == [function_arn, {"Fn::Join": ["", [function_arn, ":*"]]}]
    ledger_resources = [
        r for st in statements if "dynamodb:UpdateItem" in _as_list(st["Action"]) for r in _listed(st["Resource"])
    ]
    assert {"Fn::GetAtt": [table_id, "Arn"]} in ledger_resources
    assert not [a for a in by_action if a.startswith(("events:", "lambda:AddPermission", "lambda:RemovePermission"))]
    table = template["Resources"][table_id]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ExpiresAt", "Enabled": True}
    function = template["Resources"][function_id]["Properties"]
    assert function["Environment"]["Variables"]["REQUESTS_TABLE_NAME"] == {"Ref": table_id}
    # The custom resource waits for the self-invoke policy, so the first request can continue.
    resource = _single(assertions, RESOURCE_TYPE)
    policy_id = next(
        logical_id
        for logical_id, candidate in template["Resources"].items()
        if candidate["Type"] == "AWS::IAM::Policy"
        and any(
            "lambda:InvokeFunction" in _as_list(st["Action"])
            for st in candidate["Properties"]["PolicyDocument"]["Statement"]
        )
    )
    assert policy_id in resource["DependsOn"]


def _listed(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _as_list(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _policy_documents(resource: dict[str, Any]) -> list[dict[str, Any]]:
    properties = resource["Properties"]
    if resource["Type"] == "AWS::IAM::Policy":
        return [properties["PolicyDocument"]]
    return [policy["PolicyDocument"] for policy in properties.get("Policies", [])]


def _table_keyed_by(template: dict[str, Any], key: str) -> str:
    (logical_id,) = [
        k
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::DynamoDB::Table" and v["Properties"]["KeySchema"][0]["AttributeName"] == key
    ]
    return logical_id


def test_owner_records_are_durable_and_reachable_only_by_the_provider(make_stack: MakeStack) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Execution", plan_id=PLAN)
    template = _template(stack).to_json()
    owners_id = _table_keyed_by(template, "ProvisionedProductId")
    owners = template["Resources"][owners_id]
    # Losing owner records reopens adoption, so the table survives the provider and can be restored.
    assert owners["DeletionPolicy"] == "Retain"
    assert owners["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert owners["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    function = template["Resources"][_logical_id(template, "AWS::Lambda::Function")]["Properties"]
    assert function["Environment"]["Variables"]["OWNERS_TABLE_NAME"] == {"Ref": owners_id}
    grants = [
        statement
        for policy in template["Resources"].values()
        if policy["Type"] in ("AWS::IAM::Policy", "AWS::IAM::Role")
        for document in _policy_documents(policy)
        for statement in document["Statement"]
        if {"Fn::GetAtt": [owners_id, "Arn"]} in _listed(statement["Resource"])
    ]
    assert grants and all(set(_as_list(g["Action"])) == {"dynamodb:UpdateItem", "dynamodb:GetItem"} for g in grants)


def _logical_id(template: dict[str, Any], resource_type: str) -> str:
    (logical_id,) = [k for k, v in template["Resources"].items() if v["Type"] == resource_type]
    return logical_id


SPEC = ProductSpec.of(
    product_id="prod-abc123",
    provisioning_artifact_id="pa-abc123",
    provisioned_product_name="analytics-bucket",
    parameters={"Size": "small", "Tier": "gold"},
    tags={"team": "data"},
    notification_arns=["arn:aws:sns:us-east-1:123456789012:events"],
)


def test_spec_is_emitted_in_the_native_resource_shapes(make_stack: MakeStack) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Execution", spec=SPEC, no_echo=True)
    properties = _single(_template(stack), RESOURCE_TYPE)["Properties"]
    assert "PlanId" not in properties
    assert properties["ProductId"] == "prod-abc123"
    assert properties["ProvisioningArtifactId"] == "pa-abc123"
    assert properties["ProvisionedProductName"] == "analytics-bucket"
    assert properties["ProvisioningParameters"] == [
        {"Key": "Size", "Value": "small"},
        {"Key": "Tier", "Value": "gold"},
    ]
    assert properties["Tags"] == [{"Key": "team", "Value": "data"}]
    assert properties["NotificationArns"] == ["arn:aws:sns:us-east-1:123456789012:events"]
    assert properties["NoEcho"] == "true"
    assert "PathId" not in properties


def test_no_echo_is_emitted_only_when_set(make_stack: MakeStack) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Execution", plan_id=PLAN)
    assert "NoEcho" not in _single(_template(stack), RESOURCE_TYPE)["Properties"]


@pytest.mark.parametrize("kwargs", [{}, {"plan_id": PLAN, "spec": SPEC}], ids=["neither", "both"])
def test_exactly_one_of_plan_id_and_spec(kwargs: dict[str, Any]) -> None:
    stack = cdk.Stack(cdk.App(), "ValidationStack")
    with pytest.raises(ValueError, match=r"exactly one of plan_id .* and spec"):
        ProvisionedProductPlanExecution(stack, "Execution", **kwargs)


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        (
            ProductSpec.of(product_id="bad id!", provisioning_artifact_id="pa-1", provisioned_product_name="n"),
            "ProductId",
        ),
        (
            ProductSpec.of(product_id="prod-1", provisioning_artifact_id="pa-1", provisioned_product_name="-x"),
            "ProvisionedProductName",
        ),
        (
            ProductSpec.of(product_id="prod-1", provisioning_artifact_id="", provisioned_product_name="n"),
            "ProvisioningArtifactId \\(or ProvisioningArtifactName\\) is missing",
        ),
        (
            ProductSpec.of(
                product_id="prod-1",
                product_name="bucket",
                provisioning_artifact_id="pa-1",
                provisioned_product_name="n",
            ),
            "ProductId and ProductName are both given",
        ),
        (
            ProductSpec.of(product_name="bucket", provisioned_product_name="n"),
            "ProvisioningArtifactId \\(or ProvisioningArtifactName\\) is missing",
        ),
        (
            ProductSpec.of(
                product_name="bucket",
                provisioning_artifact_name="v1",
                path_name="p" * 101,
                provisioned_product_name="n",
            ),
            "PathName",
        ),
        (
            ProductSpec.of(
                product_id="prod-1",
                provisioning_artifact_id="pa-1",
                provisioned_product_name="n",
                notification_arns=["not-an-arn"],
            ),
            "NotificationArns",
        ),
    ],
)
def test_spec_is_validated_at_synth_time(spec: ProductSpec, named: str) -> None:
    stack = cdk.Stack(cdk.App(), "ValidationStack")
    with pytest.raises(InvalidPropertyError, match=named):
        ProvisionedProductPlanExecution(stack, "Execution", spec=spec)


def test_spec_tokens_are_passed_through_and_checked_at_deploy_time(make_stack: MakeStack) -> None:
    stack = make_stack()
    product = cdk.CfnParameter(stack, "ProductId")
    size = cdk.CfnParameter(stack, "Size")
    topic = cdk.CfnParameter(stack, "Topic")
    spec = ProductSpec.of(
        product_id=product.value_as_string,
        provisioning_artifact_id="pa-abc123",
        provisioned_product_name=f"{cdk.Aws.STACK_NAME}-bucket",
        parameters={"Size": size.value_as_string},
        notification_arns=[topic.value_as_string],
    )
    ProvisionedProductPlanExecution(stack, "Execution", spec=spec)
    properties = _single(_template(stack), RESOURCE_TYPE)["Properties"]
    assert properties["ProductId"] == {"Ref": "ProductId"}
    assert properties["ProvisioningParameters"] == [{"Key": "Size", "Value": {"Ref": "Size"}}]
    assert properties["NotificationArns"] == [{"Ref": "Topic"}]


def test_spec_by_names_is_emitted_in_the_native_resource_shapes(make_stack: MakeStack) -> None:
    stack = make_stack()
    spec = ProductSpec.of(
        product_name="Analytics bucket",
        provisioning_artifact_name="v2 (2024)",
        path_name="Data platform",
        provisioned_product_name="analytics-bucket",
    )
    ProvisionedProductPlanExecution(stack, "Execution", spec=spec)
    properties = _single(_template(stack), RESOURCE_TYPE)["Properties"]
    assert {k: v for k, v in properties.items() if k not in ("ServiceToken", "ServiceTimeout")} == {
        "ProductName": "Analytics bucket",
        "ProvisioningArtifactName": "v2 (2024)",
        "PathName": "Data platform",
        "ProvisionedProductName": "analytics-bucket",
    }


def test_adoption_and_delete_options_are_emitted_only_when_set(make_stack: MakeStack) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Default", spec=SPEC)
    ProvisionedProductPlanExecution(
        stack,
        "Adopting",
        spec=ProductSpec.of(
            product_id="prod-abc123", provisioning_artifact_id="pa-abc123", provisioned_product_name="x"
        ),
        adopt_existing=True,
        retain_physical_resources=True,
        terminate_ignore_errors=True,
    )
    ProvisionedProductPlanExecution(stack, "Plan", plan_id=PLAN, terminate_ignore_errors=True)
    names = ("AdoptExisting", "RetainPhysicalResources", "TerminateIgnoreErrors")
    emitted = {
        logical_id.split("Resource")[0]: tuple(r["Properties"].get(name, "-") for name in names)
        for logical_id, r in _custom_resources(_template(stack)).items()
    }
    assert sorted(emitted.values()) == [("-", "-", "-"), ("-", "-", "true"), ("true", "true", "true")]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"spec": SPEC, "retain_physical_resources": "yes"}, "RetainPhysicalResources 'yes' is not a boolean"),
        ({"spec": SPEC, "terminate_ignore_errors": 1}, "TerminateIgnoreErrors 1 is not a boolean"),
        ({"spec": SPEC, "adopt_existing": None}, "AdoptExisting None is not a boolean"),
        ({"plan_id": PLAN, "adopt_existing": True}, "adopt_existing applies to spec mode only"),
    ],
)
def test_adoption_and_delete_options_are_validated_at_synth_time(props: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(cdk.App(), "ValidationStack")
    with pytest.raises(ValueError, match=message):
        ProvisionedProductPlanExecution(stack, "Execution", **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {
                "service_token": "arn:aws:lambda:us-east-1:123456789012:function:p",
                "provider_options": ProviderOptions(),
            },
            "provider_options apply to the provider this stack creates",
        ),
        (
            {"service_token": "arn:aws:lambda:us-east-1:123456789012:function:p", "portfolio": "portfolio"},
            "portfolio needs the provider's role",
        ),
    ],
)
def test_an_existing_provider_refuses_what_only_an_own_provider_can_do(props: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(cdk.App(), "SharedStack")
    if props.get("portfolio") == "portfolio":
        props = {**props, "portfolio": servicecatalog.Portfolio(stack, "P", display_name="p", provider_name="t")}
    with pytest.raises(ValueError, match=message):
        ProvisionedProductPlanExecution(stack, "Execution", plan_id=PLAN, **props)
    assert stack.node.try_find_child("ServiceCatalogPlanExecutionProvider") is None
