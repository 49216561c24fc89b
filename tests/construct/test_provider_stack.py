"""The shared provider stack (in the example app) and its standalone template (no CDK needed to deploy)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

import app
from sc_plan_execution import DEFAULT_EXPORT_NAME, PlanExecutionProviderStack
from sc_plan_execution.standalone import (
    ALARM_TOPIC_PARAMETER,
    CODE_BUCKET_PARAMETER,
    CODE_KEY_PARAMETER,
    CONCURRENCY_PARAMETER,
    DRIFT_CHECK_SCHEDULE_PARAMETER,
    EXPORT_NAME_PARAMETER,
    HAS_ALARM_TOPIC_CONDITION,
    HAS_CONCURRENCY_CONDITION,
    HAS_DRIFT_CHECK_CONDITION,
    HAS_KEY_CONDITION,
    IN_VPC_CONDITION,
    KMS_KEY_PARAMETER,
    OPTION_PARAMETERS,
    SECURITY_GROUPS_PARAMETER,
    SUBNETS_PARAMETER,
    ZIP_EPOCH,
    standalone_template,
    zip_directory,
)
from support.checkov import run_checkov

CFN_LINT_IGNORED = "W3005"  # redundant DependsOn that CDK itself emits


def _template(cdk_outdir: Path, stack_name: str) -> dict[str, Any]:
    """A stack's template by its file name: later Apps of the session rewrite manifest.json, not this."""
    template: dict[str, Any] = json.loads((cdk_outdir / f"{stack_name}.template.json").read_text())
    return template


def _provider_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The provider's resources (role, policies, log group, table, function), without CDK metadata (a copy)."""
    return {
        logical_id: copy.deepcopy({key: value for key, value in resource.items() if key != "Metadata"})
        for logical_id, resource in template["Resources"].items()
        if logical_id.startswith("ServiceCatalogPlanExecutionProvider")
    }


_ABSENT = object()


def _under(value: Any, conditions: dict[str, bool]) -> Any:
    """The template value as CloudFormation deploys it with these condition values: every Fn::If
    decided, AWS::NoValue removed."""
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return _under(when_true if conditions[name] else when_false, conditions)
        if value == {"Ref": "AWS::NoValue"}:
            return _ABSENT
        resolved = {key: _under(item, conditions) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _ABSENT}
    if isinstance(value, list):
        return [item for item in (_under(item, conditions) for item in value) if item is not _ABSENT]
    return value


ALL_OFF = dict.fromkeys(
    (
        HAS_KEY_CONDITION,
        IN_VPC_CONDITION,
        HAS_CONCURRENCY_CONDITION,
        HAS_ALARM_TOPIC_CONDITION,
        HAS_DRIFT_CHECK_CONDITION,
    ),
    False,
)
ALL_ON = dict.fromkeys(ALL_OFF, True)


@pytest.fixture(scope="module")
def provider_template(example: Any, cdk_outdir: Path) -> dict[str, Any]:
    """The example app's ServiceCatalogPlanProvider stack (synthesized with cdk-nag by the session)."""
    return _template(cdk_outdir, app.PROVIDER_STACK_NAME)


@pytest.fixture(scope="module")
def standalone() -> dict[str, Any]:
    """The standalone template with the app's feature flags, as `make package` writes it."""
    return standalone_template(default_code_key="sc-plan-provider-test.zip", context=app.cdk_json_context())


def test_provider_stack_exports_the_function_arn_under_the_documented_name(provider_template: dict[str, Any]) -> None:
    (function_id,) = [k for k, v in provider_template["Resources"].items() if v["Type"] == "AWS::Lambda::Function"]
    output = provider_template["Outputs"]["ServiceToken"]
    assert output["Value"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert output["Export"] == {"Name": DEFAULT_EXPORT_NAME} == {"Name": "ServiceCatalogPlanExecution-ServiceToken"}


def test_provider_stack_holds_the_same_provider_as_a_stack_using_the_construct(
    provider_template: dict[str, Any], example: Any
) -> None:
    demo = json.loads(example.template_path.read_text())
    shared = _provider_resources(provider_template)
    assert {k: v["Type"] for k, v in shared.items()} == {k: v["Type"] for k, v in _provider_resources(demo).items()}
    assert shared == _provider_resources(demo)  # same construct, same asset: identical resources
    assert not [r for r in provider_template["Resources"].values() if r["Type"].startswith("Custom::")]


def test_export_name_is_a_prop(cdk_outdir: Path) -> None:
    import aws_cdk as cdk

    context = {"aws:cdk:bundling-stacks": []}  # the template is what matters here; skip pip
    stack = PlanExecutionProviderStack(cdk.App(outdir=str(cdk_outdir), context=context), "P", export_name="Other-Token")
    template = cdk.assertions.Template.from_stack(stack).to_json()
    assert template["Outputs"]["ServiceToken"]["Export"] == {"Name": "Other-Token"}


def test_standalone_template_is_the_provider_stack_with_code_from_parameters(
    standalone: dict[str, Any], provider_template: dict[str, Any]
) -> None:
    shared = _provider_resources(provider_template)
    # With every option parameter empty (their defaults), the template deploys the provider stack.
    portable = _deployed(_provider_resources(standalone), ALL_OFF)
    assert set(portable) == set(shared)
    (function_id,) = [k for k, v in portable.items() if v["Type"] == "AWS::Lambda::Function"]
    assert portable[function_id]["Properties"].pop("Code") == {
        "S3Bucket": {"Ref": CODE_BUCKET_PARAMETER},
        "S3Key": {"Ref": CODE_KEY_PARAMETER},
    }
    shared[function_id]["Properties"].pop("Code")
    assert portable == shared  # one definition: everything but the code's location is the same
    assert standalone["Outputs"]["ServiceToken"] == {
        **provider_template["Outputs"]["ServiceToken"],
        "Export": {"Name": {"Ref": EXPORT_NAME_PARAMETER}},
    }
    assert standalone["Parameters"][EXPORT_NAME_PARAMETER]["Default"] == DEFAULT_EXPORT_NAME
    assert standalone["Parameters"][CODE_KEY_PARAMETER]["Default"] == "sc-plan-provider-test.zip"
    assert "Default" not in standalone["Parameters"][CODE_BUCKET_PARAMETER]
    for name in OPTION_PARAMETERS:
        assert standalone["Parameters"][name]["Default"] == "", name


def _deployed(resources: dict[str, Any], conditions: dict[str, bool]) -> dict[str, Any]:
    """The resources CloudFormation creates under these condition values, each as `_under` gives it."""
    kept = {key: value for key, value in resources.items() if conditions.get(value.get("Condition", ""), True)}
    return {key: _under(value, conditions) for key, value in kept.items()}


def test_standalone_template_switches_each_option_on_by_its_parameter(standalone: dict[str, Any]) -> None:
    resources = _deployed(_provider_resources(standalone), ALL_ON)

    def one(resource_type: str) -> dict[str, Any]:
        (props,) = [r["Properties"] for r in resources.values() if r["Type"] == resource_type]
        return props

    key = {"Ref": KMS_KEY_PARAMETER}
    function = one("AWS::Lambda::Function")
    assert function["KmsKeyArn"] == key
    assert function["VpcConfig"] == {
        "SubnetIds": {"Ref": SUBNETS_PARAMETER},
        "SecurityGroupIds": {"Ref": SECURITY_GROUPS_PARAMETER},
    }
    assert function["ReservedConcurrentExecutions"] == {"Ref": CONCURRENCY_PARAMETER}
    for table in (r["Properties"] for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"):
        assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}
    assert one("AWS::Logs::LogGroup")["KmsKeyId"] == key
    assert one("AWS::SQS::Queue")["KmsMasterKeyId"] == key and "SqsManagedSseEnabled" not in one("AWS::SQS::Queue")
    policies = {p["PolicyName"]: p["PolicyDocument"] for p in one("AWS::IAM::Role")["Policies"]}
    assert set(policies) == {"ServiceCatalogPlanExecution", "ConfirmRequests", "NetworkInterfaces", "EncryptionKey"}
    assert policies["EncryptionKey"]["Statement"][0]["Resource"] == key
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) == 3 and all(a["AlarmActions"] == [{"Ref": ALARM_TOPIC_PARAMETER}] for a in alarms)
    # The scheduled drift check: the rule invokes the function with the check's event, EventBridge
    # may invoke it, and the role may scan the owners table.
    rule = one("AWS::Events::Rule")
    assert rule["ScheduleExpression"] == {"Ref": DRIFT_CHECK_SCHEDULE_PARAMETER}
    assert json.loads(rule["Targets"][0]["Input"]) == {"DriftCheck": True}
    (invoke,) = [p for p in (r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Permission")]
    assert invoke["Principal"] == "events.amazonaws.com"
    scans = [
        statement
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy"
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
        if "dynamodb:Scan" in json.dumps(statement["Action"])
    ]
    assert len(scans) == 1 and "Owners" in json.dumps(scans[0]["Resource"])
    # Off again, nothing of them is left.
    off = _deployed(_provider_resources(standalone), ALL_OFF)
    assert "EncryptionKey" not in json.dumps(off) and "NetworkInterfaces" not in json.dumps(off)
    assert "dynamodb:Scan" not in json.dumps(off) and "DriftCheck" not in json.dumps(off)
    assert not [r for r in off.values() if r["Type"] in ("AWS::Events::Rule", "AWS::Lambda::Permission")]
    # Subnets without security groups (or the reverse) are refused before anything is created.
    (rule,) = standalone["Rules"].values()
    assert "SecurityGroupIds" in rule["Assertions"][0]["AssertDescription"]


def test_standalone_template_needs_no_cdk(standalone: dict[str, Any]) -> None:
    """No bootstrap version rule or parameter, no asset parameters, no CDK metadata of any kind."""
    assert set(standalone["Parameters"]) == {
        CODE_BUCKET_PARAMETER,
        CODE_KEY_PARAMETER,
        EXPORT_NAME_PARAMETER,
        *OPTION_PARAMETERS,
    }
    assert set(standalone["Rules"]) == {"SubnetsWithSecurityGroups"}  # no CheckBootstrapVersion
    assert set(standalone["Conditions"]) == set(ALL_OFF)  # no CDK metadata condition
    assert not [r for r in standalone["Resources"].values() if r["Type"] == "AWS::CDK::Metadata"]
    # The only metadata is checkov's skips, each with its reason.
    assert {key for r in standalone["Resources"].values() for key in r.get("Metadata", {})} == {"checkov"}
    assert "cdk" not in json.dumps(standalone).lower()


def test_standalone_template_passes_checkov(standalone: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "standalone.template.json"
    path.write_text(json.dumps(standalone))
    report = run_checkov([path])
    assert report.failed == []
    # Every option is a parameter, so every default's skip stays (the checks pass once it is given).
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


def test_standalone_template_passes_cfn_lint(standalone: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "standalone.template.json"
    path.write_text(json.dumps(standalone))
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--ignore-checks", CFN_LINT_IGNORED, "--", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_zip_is_reproducible(tmp_path: Path) -> None:
    source = tmp_path / "bundle"
    (source / "pkg" / "sub").mkdir(parents=True)
    (source / "pkg" / "b.py").write_text("b = 1\n")
    (source / "pkg" / "sub" / "a.py").write_text("a = 1\n")
    (source / "bin").mkdir()
    (source / "bin" / "tool").write_text("#!/bin/sh\n")
    (source / "bin" / "tool").chmod(0o775)
    zip_directory(source, tmp_path / "first.zip")
    for path in source.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))  # other mtimes, same content
    (source / "pkg" / "b.py").chmod(0o600)
    zip_directory(source, tmp_path / "second.zip")

    assert (tmp_path / "first.zip").read_bytes() == (tmp_path / "second.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "first.zip") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == ["bin/tool", "pkg/b.py", "pkg/sub/a.py"]
    assert {i.date_time for i in infos} == {ZIP_EPOCH}
    assert {i.filename: i.external_attr >> 16 & 0o777 for i in infos} == {
        "bin/tool": 0o755,
        "pkg/b.py": 0o644,
        "pkg/sub/a.py": 0o644,
    }


def test_standalone_stack_is_cdk_nag_clean(tmp_path: Path) -> None:
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    from sc_plan_execution.standalone import STACK_ID, StandaloneProviderStack

    app_ = cdk.App(outdir=str(tmp_path), context=app.cdk_json_context())
    cdk.Validations.of(app_).add_plugins(AwsSolutionsChecks(app_))
    StandaloneProviderStack(app_, STACK_ID, default_code_key="k.zip")
    app_.synth()  # a finding fails the synth
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []
