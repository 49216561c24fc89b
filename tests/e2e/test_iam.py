"""The local cloud grants the function exactly what its synthesized role grants: a call taken out of
the template's policies fails as it would in AWS, and the unmodified role covers every call made."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local_cloud.cloud import PROVIDER_HANDLER, LocalCloud, provider_spec
from local_cloud.cloudformation.references import stack_references
from local_cloud.gate import CallRecord
from local_cloud.iam.role import read_execution_role
from local_cloud.lambda_runtime import FunctionSpec
from support.scenarios import executions, plan, product, resource

STACK = "ServiceCatalogPlanDemo"
Template = dict[str, Any]


def _edited_spec(cdk_out: Path, tmp_path: Path, edit: Callable[[Template], None]) -> FunctionSpec:
    """The synthesized function, read from a copy of its template changed by ``edit``."""
    original = provider_spec(cdk_out, STACK)
    assert original.template_path is not None
    template: Template = json.loads(original.template_path.read_text())
    edit(template)
    path = tmp_path / "edited.template.json"
    path.write_text(json.dumps(template))
    return FunctionSpec.from_template(path, original.asset_dir, PROVIDER_HANDLER, stack_name=STACK)


def _resource_of_type(template: Template, kind: str, suffix: str = "") -> dict[str, Any]:
    (found,) = [r for k, r in template["Resources"].items() if r["Type"] == kind and k.startswith(suffix)]
    return found


def _role_inline_actions(template: Template) -> list[str]:
    role = _resource_of_type(template, "AWS::IAM::Role")
    actions: list[str] = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"]
    return actions


def without_describe_record(template: Template) -> None:
    _role_inline_actions(template).remove("servicecatalog:DescribeRecord")


def without_owners_update_item(template: Template) -> None:
    """UpdateItem stays granted on the requests table only; GetItem on both."""
    policy = _resource_of_type(template, "AWS::IAM::Policy", "ServiceCatalogPlanExecutionProviderRoleDefaultPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (dynamodb,) = [s for s in statements if "dynamodb:UpdateItem" in s["Action"]]
    dynamodb["Action"] = ["dynamodb:GetItem"]
    requests = [r for r in dynamodb["Resource"] if "Requests" in r["Fn::GetAtt"][0]]
    statements.append({"Action": "dynamodb:UpdateItem", "Effect": "Allow", "Resource": requests})


def without_self_invoke(template: Template) -> None:
    policy_id = next(k for k in template["Resources"] if k.startswith("ServiceCatalogPlanExecutionProviderSelfInvoke"))
    del template["Resources"][policy_id]


def denied(cloud: LocalCloud) -> list[CallRecord]:
    return [call for call in cloud.calls() if call.denied]


def test_the_synthesized_role_covers_every_call_of_a_create_and_delete(cloud: LocalCloud) -> None:
    assert cloud.iam
    sc = cloud.servicecatalog
    stack = cloud.stack("covered")
    assert stack.create(resource(plan(sc, product(sc)))).status == "CREATE_COMPLETE"
    assert stack.delete().status == "DELETE_COMPLETE"
    calls = cloud.calls()
    assert {(c.service, c.operation) for c in calls} >= {
        ("dynamodb", "UpdateItem"),
        ("servicecatalog", "ExecuteProvisionedProductPlan"),
        ("servicecatalog", "DescribeRecord"),
        ("servicecatalog", "TerminateProvisionedProduct"),
        ("s3", "PutObject"),
    }
    assert denied(cloud) == []
    assert all(call.outcome != "AccessDeniedException" for call in calls)


def test_without_describe_record_the_create_fails_with_access_denied(cdk_out: Path, tmp_path: Path) -> None:
    spec = _edited_spec(cdk_out, tmp_path, without_describe_record)
    with LocalCloud(spec=spec, retry_delays=(0.5, 1.0)) as cloud:
        sc = cloud.servicecatalog
        result = cloud.stack("no-describe-record").create(resource(plan(sc, product(sc))))
        refused = denied(cloud)
    (outcome,) = result.by_phase("create")
    assert outcome.status == "FAILED"
    assert "AccessDeniedException" in outcome.reason
    assert {(c.service, c.operation, c.error_code) for c in refused} == {
        ("servicecatalog", "DescribeRecord", "AccessDeniedException")
    }
    assert executions(sc) == 1  # the plan was executed; only watching it was refused


def test_without_update_item_on_the_owners_table_the_create_fails(cdk_out: Path, tmp_path: Path) -> None:
    spec = _edited_spec(cdk_out, tmp_path, without_owners_update_item)
    with LocalCloud(spec=spec, retry_delays=(0.5, 1.0)) as cloud:
        sc = cloud.servicecatalog
        owners = next(name for logical_id, name in cloud.tables.items() if "Owners" in logical_id)
        result = cloud.stack("no-owner-claim").create(resource(plan(sc, product(sc))))
        refused = denied(cloud)
    (outcome,) = result.by_phase("create")
    assert outcome.status == "FAILED"
    assert "AccessDeniedException" in outcome.reason
    assert refused, "no call was denied"
    assert {(c.service, c.operation) for c in refused} == {("dynamodb", "UpdateItem")}
    assert all(c.resources == (f"arn:aws:dynamodb:us-east-1:123456789012:table/{owners}",) for c in refused)
    assert executions(sc) == 0  # the owner is claimed before anything is executed


def test_without_the_self_invoke_policy_a_continuation_is_denied(cdk_out: Path, tmp_path: Path) -> None:
    spec = _edited_spec(cdk_out, tmp_path, without_self_invoke)
    with LocalCloud(spec=spec, function_timeout=4.0, retry_delays=(0.5, 1.0)) as cloud:
        sc = cloud.servicecatalog
        result = cloud.stack("no-self-invoke").create(resource(plan(sc, product(sc, duration=10.0))))
        refused = denied(cloud)
    (outcome,) = result.by_phase("create")
    assert outcome.status == "FAILED"
    assert "AccessDeniedException" in outcome.reason
    assert refused
    assert {(c.service, c.operation, c.resources) for c in refused} == {("lambda", "Invoke", (spec.function_arn,))}


def test_an_unreadable_statement_fails_the_start_and_names_it(cdk_out: Path, tmp_path: Path) -> None:
    def conditional_resource(template: Template) -> None:
        role = _resource_of_type(template, "AWS::IAM::Role")
        role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Resource"] = {
            "Fn::If": ["IsProd", "*", {"Ref": "AWS::NoValue"}]
        }

    spec = _edited_spec(cdk_out, tmp_path, conditional_resource)
    with (
        pytest.raises(
            ValueError,
            match=r"inline policy ServiceCatalogPlanExecution statement 0: condition 'IsProd' has no local value",
        ),
        LocalCloud(spec=spec),
    ):
        pass


def test_a_qualified_service_token_reaches_the_function_as_its_alias(cdk_out: Path) -> None:
    with LocalCloud(cdk_out, retry_delays=(0.5, 1.0), service_token_qualifier="live") as cloud:
        sc = cloud.servicecatalog
        assert cloud.cloudformation.service_token == f"{cloud.spec.function_arn}:live"
        result = cloud.stack("alias").create(resource(plan(sc, product(sc))))
        logs = cloud.function.log_text()
    assert result.status == "CREATE_COMPLETE", result
    assert f'"function_arn":"{cloud.spec.function_arn}:live"' in logs


def test_a_continuation_of_an_alias_invocation_stays_within_the_synthesized_self_invoke_grant(cdk_out: Path) -> None:
    """The handler re-invokes ``context.invoked_function_arn`` (``<arn>:live`` when the ServiceToken
    names an alias); the SelfInvoke policy grants ``<arn>:*`` besides the unqualified ARN, since IAM
    does not extend the unqualified ARN to a qualified one."""
    with LocalCloud(cdk_out, function_timeout=4.0, retry_delays=(0.5, 1.0), service_token_qualifier="live") as cloud:
        sc = cloud.servicecatalog
        result = cloud.stack("alias-long").create(resource(plan(sc, product(sc, duration=10.0))))
        refused = denied(cloud)
        invokes = [c for c in cloud.calls() if c.service == "lambda" and c.operation == "Invoke"]
    (outcome,) = result.by_phase("create")
    assert outcome.status == "SUCCESS", outcome.reason
    assert refused == []
    assert invokes, "the provisioning outlived the function: it must have continued"
    assert {c.resources for c in invokes} == {(f"{cloud.spec.function_arn}:live",)}


def test_the_synthesized_provider_role_is_read_from_cdk_out(cdk_out: Path) -> None:
    spec = provider_spec(cdk_out)
    assert spec.template_path is not None
    tmpl = json.loads(spec.template_path.read_text())
    references = stack_references(
        tmpl, stack_name="s", region=spec.region, account_id=spec.account_id, physical_names={spec.logical_id: "fn"}
    )
    role = read_execution_role(tmpl, spec.logical_id, references, account_id=spec.account_id)
    function_arn = f"arn:aws:lambda:{spec.region}:{spec.account_id}:function:fn"
    evaluate = role.policies.evaluate
    assert evaluate("servicecatalog:ExecuteProvisionedProductPlan", ["*"]).allowed
    assert not evaluate("servicecatalog:SearchProducts", ["*"]).allowed
    assert evaluate("lambda:InvokeFunction", [function_arn]).allowed
    assert evaluate("lambda:InvokeFunction", [f"{function_arn}:live"]).allowed  # continuations of an alias
    assert not evaluate("lambda:InvokeFunction", [f"{function_arn}-other"]).allowed
    tables = [
        references.attributes[f"{k}.Arn"] for k, v in tmpl["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"
    ]
    assert len(tables) == 2
    for table in tables:
        assert evaluate("dynamodb:UpdateItem", [table]).allowed
        assert not evaluate("dynamodb:DeleteItem", [table]).allowed
