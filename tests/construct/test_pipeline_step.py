"""PlanReviewStep: the review command as a CDK Pipelines step, with the deployment's plan id, allow
flags and Region, whose role may only read the plan; refused where no plan can be reviewed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import pipelines
from constructs import Construct

from sc_plan_execution import PlanReviewStep, ProductSpec, ProvisionedProductPlanExecution
from sc_plan_provider import __version__

CONNECTION = "arn:aws:codeconnections:eu-west-1:123456789012:connection/00000000-0000-0000-0000-000000000000"
ENV = cdk.Environment(account="123456789012", region="eu-west-1")


class PlanStage(cdk.Stage):
    def __init__(self, scope: Construct, construct_id: str, **props: Any) -> None:
        super().__init__(scope, construct_id, env=ENV)
        self.execution = _unbundled_execution(cdk.Stack(self, "Plan"), props)


def pipeline_with(tmp: Path, review: Any) -> dict[str, Any]:
    """A pipeline whose Deploy stage is preceded by the review step built by `review(stage, source)`."""
    app = cdk.App(outdir=str(tmp))
    stack = cdk.Stack(app, "Pipeline", env=ENV)
    source = pipelines.CodePipelineSource.connection("my-org/infra", "main", connection_arn=CONNECTION)
    pipeline = pipelines.CodePipeline(
        stack, "Pipeline", synth=pipelines.ShellStep("Synth", input=source, commands=["npx cdk synth"])
    )
    stage = PlanStage(stack, "Deploy", plan_id="plan-reviewed123", allow_replacement=True)
    pipeline.add_stage(stage, pre=[review(stage, source)])
    pipeline.build_pipeline()
    template: dict[str, Any] = app.synth().get_stack_by_name("Pipeline").template
    return template


def review_project(template: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The review's CodeBuild project (its buildspec) and every statement its role may use."""
    resources = template["Resources"]
    (project,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::CodeBuild::Project"
        and "sc_plan_execution review" in r["Properties"]["Source"]["BuildSpec"]
    ]
    role_id = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
    statements = [
        statement
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"]["Roles"]
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    return json.loads(project["Properties"]["Source"]["BuildSpec"]), statements


def test_one_line_from_the_execution_reviews_its_plan_with_its_flags_and_region(tmp_path: Path) -> None:
    template = pipeline_with(tmp_path, lambda stage, source: PlanReviewStep(execution=stage.execution, input=source))
    buildspec, statements = review_project(template)
    assert buildspec["phases"]["build"]["commands"] == [
        "python -m sc_plan_execution review plan-reviewed123 --allow-replacement --region eu-west-1"
    ]
    assert buildspec["phases"]["install"]["commands"] == [
        f"pip install 'servicecatalog-plan-execution[review]=={__version__}'"
    ]
    # Service Catalog: only the plan's description, on "*" (no resource-level permissions).
    catalog = [s for s in statements if any(str(a).startswith("servicecatalog:") for a in _listed(s["Action"]))]
    assert catalog == [{"Action": "servicecatalog:DescribeProvisionedProductPlan", "Effect": "Allow", "Resource": "*"}]
    # Everything else is CDK Pipelines' own: the build's logs, reports and artifacts.
    others = {a for s in statements if s not in catalog for a in _listed(s["Action"])}
    assert all(a.split(":")[0] in {"logs", "codebuild", "s3"} for a in others), others

    pipeline = next(r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline")
    (deploy,) = [s for s in pipeline["Properties"]["Stages"] if s["Name"] == "Deploy"]
    order = {a["Name"]: a["RunOrder"] for a in deploy["Actions"]}
    assert order["ReviewPlan"] < min(run for name, run in order.items() if name != "ReviewPlan")


def test_a_plan_id_with_the_stacks_own_flags(tmp_path: Path) -> None:
    template = pipeline_with(
        tmp_path,
        lambda stage, source: PlanReviewStep(
            "Review",
            plan_id="plan-other456",
            allow_removal=True,
            input=source,
            install_commands=["pip install '.[review]'"],
        ),
    )
    buildspec, _ = review_project(template)
    assert buildspec["phases"]["build"]["commands"] == [
        "python -m sc_plan_execution review plan-other456 --allow-removal"
    ]
    assert buildspec["phases"]["install"]["commands"] == ["pip install '.[review]'"]


@pytest.mark.parametrize(
    ("props", "step", "message"),
    [
        ({"plan_id": "plan-abc123"}, {"allow_replacement": True}, "differs from .* allow_replacement=False"),
        ({"plan_id": "plan-abc123"}, {"plan_id": "plan-abc123"}, "exactly one of execution and plan_id"),
        (
            {
                "spec": ProductSpec.of(
                    product_id="prod-a", provisioning_artifact_id="pa-a", provisioned_product_name="n"
                )
            },
            {},
            "is in spec mode",
        ),
    ],
)
def test_refused_where_the_review_would_not_judge_the_deployed_plan(
    props: dict[str, Any], step: dict[str, Any], message: str
) -> None:
    stack = cdk.Stack(cdk.App(), "Validation")
    execution = _unbundled_execution(stack, props)
    with pytest.raises(ValueError, match=message):
        PlanReviewStep(execution=execution, **step)


@pytest.mark.parametrize(
    "plan_id", ["", "not a plan!", cdk.Token.as_string(cdk.Aws.ACCOUNT_ID)], ids=["empty", "bad", "token"]
)
def test_a_plan_id_must_be_concrete(plan_id: str) -> None:
    with pytest.raises(ValueError, match="needs a concrete plan id"):
        PlanReviewStep(plan_id=plan_id)


def _unbundled_execution(stack: cdk.Stack, props: dict[str, Any]) -> ProvisionedProductPlanExecution:
    """An execution whose provider has inline code: the review does not care about the function, and
    nothing is bundled."""
    from aws_cdk import aws_lambda as lambda_

    from sc_plan_execution import PlanExecutionProvider

    PlanExecutionProvider(stack, "ServiceCatalogPlanExecutionProvider", code=lambda_.Code.from_inline("x = 1"))
    return ProvisionedProductPlanExecution(stack, "Bucket", **props)


def _listed(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
