"""CDK Pipelines example: review the plan, approve it by hand, then deploy the stack that applies it.

The pipeline (``pipelines.CodePipeline``) runs, before the deployment stage:

1. ``ReviewPlan`` - ``sc_plan_execution.PlanReviewStep``, a CodeBuild step that runs
   ``python -m sc_plan_execution review $PLAN_ID`` with the allow flags of the stage's
   ``ProvisionedProductPlanExecution``. It prints the plan's resource changes and fails the
   pipeline when the change gate would refuse the plan, so a refused plan never reaches approval;
2. ``ApprovePlan`` - a manual approval: a person reads the review's log (its table) and approves;
3. the ``Deploy`` stage - the stack with ``ProvisionedProductPlanExecution``, whose handler applies
   the same gate again before it executes the plan.

This folder is the app's own CDK project: its ``cdk.json`` (the root's feature flags) runs this file,
and its ``requirements.txt`` installs the library from the repository checkout. Synthesize from
here, after ``npm ci`` at the repository root (the pinned CDK CLI) and ``pip install -r
requirements.txt`` here (its paths are relative to this folder)::

    npx cdk synth

into ``cdk.out/`` here, as the pipeline's ``Synth`` step does from the checkout; or without the CLI,
``CDK_OUTDIR=cdk.out python pipeline_app.py`` (the same templates, less the CLI's asset metadata).
Context values (``-c``) ``planId``, ``repository``, ``branch`` and ``connectionArn`` replace the
placeholders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, App, CfnResource, Stack, Stage, Validations, pipelines
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from sc_plan_execution import PlanReviewStep, ProvisionedProductPlanExecution

EXAMPLE_DIR = Path(__file__).resolve().parent
# The folder, relative to the repository's root (the pipeline's source), that the Synth step builds in.
EXAMPLE_PATH = "examples/pipeline"
PIPELINE_STACK_NAME = "ServiceCatalogPlanPipeline"
DEFAULT_PLAN_ID = "plan-demo-bucket"
DEFAULT_REPOSITORY = "my-org/my-infrastructure"
DEFAULT_BRANCH = "main"
# Placeholder: a CodeStar connection (AWS CodeConnections) to the repository's host.
DEFAULT_CONNECTION_ARN = (
    "arn:aws:codeconnections:eu-west-1:123456789012:connection/00000000-0000-0000-0000-000000000000"
)
ALLOW_REPLACEMENT = False
ALLOW_REMOVAL = False


class PlanStack(Stack):
    """The deployed stack: applies the reviewed plan (the same flags as the review step)."""

    def __init__(self, scope: Construct, construct_id: str, *, plan_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.execution = ProvisionedProductPlanExecution(
            self, "Bucket", plan_id=plan_id, allow_replacement=ALLOW_REPLACEMENT, allow_removal=ALLOW_REMOVAL
        )


class PlanStage(Stage):
    def __init__(self, scope: Construct, construct_id: str, *, plan_id: str) -> None:
        super().__init__(scope, construct_id)
        self.execution = PlanStack(self, "Plan", plan_id=plan_id).execution


class PipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan_id: str,
        repository: str,
        branch: str,
        connection_arn: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        source = pipelines.CodePipelineSource.connection(repository, branch, connection_arn=connection_arn)
        pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            # From the checkout's root: the pinned CDK CLI (the root's package-lock.json), then this
            # folder's own requirements (the library from the checkout) and cdk.json.
            synth=pipelines.ShellStep(
                "Synth",
                input=source,
                commands=[
                    "npm ci",
                    f"cd {EXAMPLE_PATH} && pip install -r requirements.txt && npx cdk synth",
                ],
                primary_output_directory=f"{EXAMPLE_PATH}/cdk.out",
            ),
        )
        stage = PlanStage(self, "Deploy", plan_id=plan_id)
        # The stage's plan id and allow flags; the library comes from this repository (the source).
        review = PlanReviewStep(execution=stage.execution, input=source, install_commands=["pip install '.[review]'"])
        approve = pipelines.ManualApprovalStep(
            "ApprovePlan", comment=f"Read the ReviewPlan log: resource changes of {plan_id} and the gate's decision."
        )
        approve.add_step_dependency(review)
        pipeline.add_stage(stage, pre=[review, approve])
        pipeline.build_pipeline()
        acknowledge_pipeline_findings(pipeline)
        skip_pipeline_checkov_findings(pipeline)


# cdk-nag AwsSolutions findings on the roles CDK Pipelines generates itself (this project's construct
# needs none beyond its own), each with the reason it is acceptable. All are IAM5 (wildcards).
_IAM5 = "AwsSolutions::AwsSolutions-IAM5"
_CODEBUILD = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:{what}"
PIPELINE_ACKNOWLEDGMENTS: dict[str, str] = {
    **{
        f"{_IAM5}[Action::s3:{action}]": "CDK Pipelines grants its roles read/write on the pipeline's own "
        "artifact bucket with the S3 action groups of Bucket.grantReadWrite; no other bucket is reachable."
        for action in ("GetObject*", "GetBucket*", "List*", "DeleteObject*", "Abort*")
    },
    f"{_IAM5}[Resource::<PipelineArtifactsBucketAEA9A052.Arn>/*]": (
        "Objects of the pipeline's own artifact bucket, whose keys CodePipeline chooses at run time."
    ),
    **{
        f"{_IAM5}[Resource::{_CODEBUILD.format(service='logs', what=f'log-group:/aws/codebuild/{p}')}]": (
            "Log streams of a CodeBuild project's own log group; stream names are chosen per build."
        )
        for p in (
            "<PipelineBuildSynthCdkBuildProject6BEFA8E6>:*",
            "<PipelineUpdatePipelineSelfMutationDAA41400>:*",
            "<PipelineDeployReviewPlan37FBE649>:*",
            "*",
        )
    },
    **{
        f"{_IAM5}[Resource::{_CODEBUILD.format(service='codebuild', what=f'report-group/{p}')}]": (
            "CodeBuild report groups named after the project at run time (CDK Pipelines' default grant)."
        )
        for p in (
            "<PipelineBuildSynthCdkBuildProject6BEFA8E6>-*",
            "<PipelineUpdatePipelineSelfMutationDAA41400>-*",
            "<PipelineDeployReviewPlan37FBE649>-*",
            "*",
        )
    },
    f"{_IAM5}[Resource::arn:*:iam::<AWS::AccountId>:role/*]": (
        "The self-mutation and asset steps assume the CDK bootstrap roles (cdk-*), conditioned by CDK "
        "Pipelines on the bootstrap role tag; their names depend on the bootstrap qualifier."
    ),
    "AwsSolutions::AwsSolutions-S1": (
        "The artifact bucket is CDK Pipelines' own, holding transient build artifacts; server access logs "
        "would need a second bucket that this example does not manage."
    ),
    "AwsSolutions::AwsSolutions-CB4": (
        "CDK Pipelines' CodeBuild projects (synth, self-mutation, assets, plan review) build nothing secret; "
        "their artifacts are encrypted at rest by the artifact bucket's own encryption."
    ),
    f"{_IAM5}[Resource::*]": (
        "The review step's servicecatalog:DescribeProvisionedProductPlan has no resource-level permissions, "
        "and CDK Pipelines' self-mutation and asset roles read CloudFormation stacks and assets by design."
    ),
}


def acknowledge_pipeline_findings(pipeline: pipelines.CodePipeline) -> None:
    for rule, reason in PIPELINE_ACKNOWLEDGMENTS.items():
        Validations.of(pipeline).acknowledge(Acknowledgment(id=rule, reason=reason))


# checkov findings on resources CDK Pipelines generates itself, skipped next to each resource (the
# construct's own stack needs none beyond the provider's documented ones): construct path below the
# pipeline -> check id -> reason.
PIPELINE_CHECKOV_SKIPS: dict[str, dict[str, str]] = {
    "Pipeline/ArtifactsBucket/Resource": {
        "CKV_AWS_18": "CDK Pipelines' own artifact bucket of transient build artifacts; server access logs would "
        "need a second bucket that this example does not manage (as AwsSolutions-S1).",
        "CKV_AWS_21": "Artifacts are rebuilt by every pipeline run and keyed per execution; old versions would "
        "only accumulate.",
    },
    "Assets/FileRole/DefaultPolicy/Resource": {
        "CKV_AWS_111": "CDK Pipelines' asset role starts and stops its own CodeBuild builds "
        "(codebuild:StartBuild/StopBuild on '*', CDK's default grant); every other write is scoped.",
    },
}


def skip_pipeline_checkov_findings(pipeline: pipelines.CodePipeline) -> None:
    for path, skips in PIPELINE_CHECKOV_SKIPS.items():
        resource = pipeline.node.find_child(path.split("/")[0])
        for part in path.split("/")[1:]:
            resource = resource.node.find_child(part)
        assert isinstance(resource, CfnResource), path
        resource.add_metadata("checkov", {"skip": [{"id": check, "comment": why} for check, why in skips.items()]})


# What the CDK CLI turns on by default (`--path-metadata`): each resource's `aws:cdk:path`. It is also
# how cfn-lint recognizes a CDK template (cfnlint/template/template.py, Template.is_cdk_template) and
# skips I1022 for it ("Prefer using Fn::Sub over Fn::Join", a style hint that CDK's generated Fn::Join
# cannot follow). Without it, E3703 (cfnlint/rules/resources/codepipeline/PipelineActionConfiguration.py,
# which validates an action's Configuration.RoleArn since cfn-lint 1.29.0, PR #3998) re-raises that hint as
# an error on the role ARN CDK Pipelines writes for each stack deployment:
# {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", ...]]}, a valid ARN.
PATH_METADATA_CONTEXT = "aws:cdk:enable-path-metadata"


def cdk_json_context() -> dict[str, Any]:
    """This folder's cdk.json context, so `python pipeline_app.py` synthesizes what `cdk synth` does."""
    context: dict[str, Any] = json.loads((EXAMPLE_DIR / "cdk.json").read_text())["context"]
    return context


def build_app(*, outdir: str | None = None, context: dict[str, Any] | None = None) -> App:
    """The app as `cdk synth` builds it here; `context` (e.g. ``planId``) goes over cdk.json's."""
    app = App(outdir=outdir, context={PATH_METADATA_CONTEXT: True, **cdk_json_context(), **(context or {})})
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    PipelineStack(
        app,
        PIPELINE_STACK_NAME,
        plan_id=str(app.node.try_get_context("planId") or DEFAULT_PLAN_ID),
        repository=str(app.node.try_get_context("repository") or DEFAULT_REPOSITORY),
        branch=str(app.node.try_get_context("branch") or DEFAULT_BRANCH),
        connection_arn=str(app.node.try_get_context("connectionArn") or DEFAULT_CONNECTION_ARN),
    )
    return app


if __name__ == "__main__":
    build_app().synth()
