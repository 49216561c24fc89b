"""The example app: synthesizes with cdk-nag clean, passes cfn-lint, and ships a working asset."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import app
from sc_plan_execution.bundling import find_pyodide, sources_without_bytecode
from sc_plan_provider.runtime.clients import SERVICES
from support.bytecode import bytecode_problems

REPO = Path(__file__).resolve().parents[2]

CFN_LINT_IGNORED = "W3005"  # redundant DependsOn that CDK itself emits


def test_cdk_nag_reports_no_unacknowledged_findings(example: Any) -> None:
    # cdk-nag 3 is a policy-validation plugin: a finding fails synth() and lands in this report.
    report = example.validation_report
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    assert violations == []
    acknowledged = {
        rule: reason
        for entries in example.metadata.values()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule, reason in entry["data"].items()
    }
    assert acknowledged, "the wildcard-resource acknowledgments should be recorded"
    assert all(len(reason) > 40 for reason in acknowledged.values())


def test_example_outputs(example: Any) -> None:
    template = json.loads(example.template_path.read_text())
    outputs = template["Outputs"]
    (logical_id,) = [k for k, v in template["Resources"].items() if v["Type"] == "Custom::ServiceCatalogPlanExecution"]
    assert outputs["ProvisionedProductId"]["Value"] == {"Ref": logical_id}
    assert outputs["RecordId"]["Value"] == {"Fn::GetAtt": [logical_id, "RecordId"]}
    assert outputs["BucketName"]["Value"] == {"Fn::GetAtt": [logical_id, "Outputs.BucketName"]}
    assert template["Resources"][logical_id]["Properties"]["PlanId"] == app.DEFAULT_PLAN_ID


def test_real_account_context_associates_the_portfolio_and_names_the_output(tmp_path: Path) -> None:
    portfolio_arn = "arn:aws:catalog:eu-west-1:111122223333:portfolio/port-abcdefghijklm"
    context = {
        app.PLAN_ID_CONTEXT: "plan-real",
        app.PORTFOLIO_ARN_CONTEXT: portfolio_arn,
        app.OUTPUT_KEY_CONTEXT: "Url",
        "aws:cdk:bundling-stacks": [],  # the template is what matters here; skip pip
    }
    assembly = app.build_app(outdir=str(tmp_path), context=context).synth()
    template = assembly.get_stack_by_name(app.STACK_NAME).template
    (association,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::ServiceCatalog::PortfolioPrincipalAssociation"
    ]
    assert association["Properties"]["PortfolioId"] == "port-abcdefghijklm"
    (logical_id,) = [k for k, v in template["Resources"].items() if v["Type"] == "Custom::ServiceCatalogPlanExecution"]
    assert template["Resources"][logical_id]["Properties"]["PlanId"] == "plan-real"
    assert template["Outputs"]["Url"]["Value"] == {"Fn::GetAtt": [logical_id, "Outputs.Url"]}


def test_cfn_lint_has_no_findings(example: Any) -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--ignore-checks", CFN_LINT_IGNORED, "--", str(example.template_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_asset_is_arm64_python_with_the_handler_package(example: Any, cdk_outdir: Path) -> None:
    (asset,) = [p for p in cdk_outdir.glob("asset.*") if p.is_dir()]
    assert (asset / "sc_plan_provider" / "handler.py").is_file()
    assert (asset / "sc_plan_provider" / "routes" / "plan_create.py").is_file()
    assert (asset / "boto3").is_dir() and (asset / "crhelper").is_dir()
    assert (asset / "aws_lambda_powertools").is_dir()
    native = list(asset.rglob("*.so"))
    assert native and all("aarch64" in so.name for so in native), native


def test_asset_ships_bytecode_the_runtime_uses(example: Any, cdk_outdir: Path) -> None:
    """The repository's checkout has pyodide (package.json): the asset is compiled for python3.14,
    every module has checked-hash bytecode matching its source, and 3.14 itself uses all of it."""
    (asset,) = [p for p in cdk_outdir.glob("asset.*") if p.is_dir()]
    files = {p.relative_to(asset).as_posix(): p.read_bytes() for p in asset.rglob("*") if p.is_file()}
    assert len([name for name in files if name.endswith(".pyc")]) > 500
    assert bytecode_problems(files) == []
    pyodide = find_pyodide(REPO)
    assert pyodide is not None, "npm ci installs pyodide (package.json)"
    assert sources_without_bytecode(asset, pyodide) == []


def test_asset_keeps_only_the_botocore_models_the_function_calls(example: Any, cdk_outdir: Path) -> None:
    (asset,) = [p for p in cdk_outdir.glob("asset.*") if p.is_dir()]
    models = asset / "botocore" / "data"
    assert {p.name for p in models.iterdir() if p.is_dir()} == set(SERVICES)
    assert (models / "endpoints.json").is_file() and (models / "partitions.json").is_file()
    assert list((models / "servicecatalog").glob("*/service-2.json*"))


def test_every_client_the_handler_creates_is_for_a_kept_service() -> None:
    """A boto3.client for a service outside SERVICES would fail on Lambda: its model is not bundled.
    Clients are made by boto3.client("<service>", ...) or runtime/clients.py's _client("<service>"); the one
    boto3.client call with a variable service is _client's own."""
    created: set[str] = set()
    variable: list[str] = []
    package = Path(app.__file__).parent / "lambda" / "sc_plan_provider"
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            boto3_client = (
                isinstance(node.func, ast.Attribute)
                and node.func.attr == "client"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "boto3"
            )
            shared_client = isinstance(node.func, ast.Name) and node.func.id == "_client"
            if boto3_client or shared_client:
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant):
                    created.add(first.value)
                else:
                    variable.append(source.relative_to(package).as_posix())
    assert variable == ["runtime/clients.py"]
    assert created == set(SERVICES)
