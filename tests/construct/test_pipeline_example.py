"""The CDK Pipelines example synthesizes with cdk-nag AwsSolutions clean: a review step running the
review command, a manual approval after it, then the stage deploying the construct's stack."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    sys.path.insert(0, str(REPO / "examples"))
    try:
        import pipeline_app
    finally:
        sys.path.remove(str(REPO / "examples"))
    outdir = tmp_path_factory.mktemp("pipeline.out")
    assembly = pipeline_app.build_app(outdir=str(outdir), context={"planId": "plan-reviewed123"}).synth()
    return outdir, assembly


def test_synth_is_cdk_nag_clean(synthesized: tuple[Path, Any]) -> None:
    outdir, _ = synthesized
    report = json.loads((outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []


def test_every_template_passes_checkov(synthesized: tuple[Path, Any]) -> None:
    """The pipeline stack and the stage's stack: CDK Pipelines' findings carry their skips, the
    construct's stack only the provider's documented ones."""
    from support.checkov import run_checkov

    outdir, _ = synthesized
    templates = sorted(outdir.rglob("*.template.json"))
    assert len(templates) == 2
    report = run_checkov(templates)
    assert report.failed == []
    assert report.passed > 100


def test_review_then_approval_then_the_deploy_stage(synthesized: tuple[Path, Any]) -> None:
    _, assembly = synthesized
    template = assembly.get_stack_by_name("ServiceCatalogPlanPipeline").template
    (pipeline,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    (deploy,) = [s for s in pipeline["Properties"]["Stages"] if s["Name"] == "Deploy"]
    order = {a["Name"]: a["RunOrder"] for a in deploy["Actions"]}
    kinds = {a["Name"]: a["ActionTypeId"]["Provider"] for a in deploy["Actions"]}
    assert kinds["ReviewPlan"] == "CodeBuild" and kinds["ApprovePlan"] == "Manual"
    stack_actions = [name for name, provider in kinds.items() if provider == "CloudFormation"]
    assert stack_actions
    assert order["ReviewPlan"] < order["ApprovePlan"] < min(order[name] for name in stack_actions)

    projects = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodeBuild::Project"]
    review_specs = [
        p["Properties"]["Source"]["BuildSpec"] for p in projects if "review" in p["Properties"]["Source"]["BuildSpec"]
    ]
    (spec,) = review_specs
    assert "python -m sc_plan_execution review plan-reviewed123" in spec
    assert "pip install '.[review]'" in spec


def test_the_deployed_stack_applies_the_reviewed_plan(synthesized: tuple[Path, Any]) -> None:
    _, assembly = synthesized
    templates = [json.loads(path.read_text()) for path in Path(assembly.directory).glob("assembly-*/*.template.json")]
    resources = [
        r for t in templates for r in t["Resources"].values() if r["Type"] == "Custom::ServiceCatalogPlanExecution"
    ]
    (execution,) = resources
    assert execution["Properties"]["PlanId"] == "plan-reviewed123"
    assert "AllowReplacement" not in execution["Properties"]  # the gate's defaults, as reviewed
