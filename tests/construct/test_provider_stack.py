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
    CODE_BUCKET_PARAMETER,
    CODE_KEY_PARAMETER,
    EXPORT_NAME_PARAMETER,
    ZIP_EPOCH,
    standalone_template,
    zip_directory,
)

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
    portable = _provider_resources(standalone)
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


def test_standalone_template_needs_no_cdk(standalone: dict[str, Any]) -> None:
    """No bootstrap version rule or parameter, no asset parameters, no CDK metadata of any kind."""
    assert set(standalone["Parameters"]) == {CODE_BUCKET_PARAMETER, CODE_KEY_PARAMETER, EXPORT_NAME_PARAMETER}
    assert "Rules" not in standalone
    assert "Conditions" not in standalone  # CDK's metadata condition comes with AWS::CDK::Metadata
    assert not [r for r in standalone["Resources"].values() if r["Type"] == "AWS::CDK::Metadata"]
    assert not [r for r in standalone["Resources"].values() if "Metadata" in r]
    assert "cdk" not in json.dumps(standalone).lower()


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
