"""`PlanReviewStep`: the plan review as a CDK Pipelines step, added in one line before a deployment.

It runs `python -m sc_plan_execution review PLAN_ID` (review.py) in CodeBuild with the allow flags
the deployment uses, so a plan the change gate would refuse fails the pipeline before anyone is
asked to approve it, and the review's log shows every resource change. Its role may only call
`servicecatalog:DescribeProvisionedProductPlan`.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from aws_cdk import Stack, Token, pipelines
from aws_cdk import aws_iam as iam

from sc_plan_execution.plan_execution import ProvisionedProductPlanExecution
from sc_plan_provider import __version__
from sc_plan_provider.properties.values import is_id

DEFAULT_STEP_ID = "ReviewPlan"
REVIEW_COMMAND = "python -m sc_plan_execution review"
# The review runs the change gate of the very library version that synthesized the handler.
DEFAULT_INSTALL_COMMANDS = (f"pip install 'servicecatalog-plan-execution[review]=={__version__}'",)
# DescribeProvisionedProductPlan has no resource-level permissions (Service Authorization
# Reference): Resource must be "*". It is the only call the review makes.
REVIEW_ACTIONS = ("servicecatalog:DescribeProvisionedProductPlan",)


def review_command(
    plan_id: str, *, allow_replacement: bool = False, allow_removal: bool = False, region: str | None = None
) -> str:
    """The review's command line, with the flags the deployment's change gate uses."""
    if Token.is_unresolved(plan_id) or not is_id(plan_id):
        raise ValueError(
            f"PlanReviewStep needs a concrete plan id (1-100 of letters, digits, '_' and '-'), got {plan_id!r}: "
            "a CDK token resolves only at deploy time, after the review."
        )
    flags = [
        flag for flag, on in (("--allow-replacement", allow_replacement), ("--allow-removal", allow_removal)) if on
    ]
    if region is not None and not Token.is_unresolved(region):
        flags += ["--region", shlex.quote(region)]
    return " ".join([REVIEW_COMMAND, plan_id, *flags])


class PlanReviewStep(pipelines.CodeBuildStep):
    """A CodeBuild step that reviews a plan before the stage that applies it, and fails on refusal.

    ``pipeline.add_stage(stage, pre=[PlanReviewStep(execution=stage.execution, input=source)])``

    Give `execution` (the stage's `ProvisionedProductPlanExecution`: its plan id, its allow flags and
    its stack's Region when concrete) or `plan_id` with the stack's own flags. Exits 1 (the pipeline
    stops) when the change gate would refuse the plan, 2 when the plan cannot be read.
    """

    def __init__(
        self,
        id: str = DEFAULT_STEP_ID,
        *,
        execution: ProvisionedProductPlanExecution | None = None,
        plan_id: str | None = None,
        allow_replacement: bool | None = None,
        allow_removal: bool | None = None,
        input: pipelines.IFileSetProducer | None = None,
        install_commands: Sequence[str] = DEFAULT_INSTALL_COMMANDS,
        region: str | None = None,
    ) -> None:
        """:param id: the step's id. Default: ReviewPlan.
        :param execution: the resource whose plan to review; its plan id and allow flags are used, and
            its stack's Region if concrete. Give this or `plan_id`.
        :param plan_id: the plan to review (a concrete id). Give this or `execution`.
        :param allow_replacement: the deployment's `allow_replacement`. Default: the execution's, else False.
        :param allow_removal: the deployment's `allow_removal`. Default: the execution's, else False.
        :param input: the file set the step starts from (e.g. the pipeline's source). Default: none.
        :param install_commands: how the review command is installed. Default: this library's version
            from the package index with its `[review]` extra.
        :param region: the plan's Region. Default: the execution's stack Region if concrete, else CodeBuild's.
        """
        plan_id, allow_replacement, allow_removal, region = _review_target(
            execution, plan_id, allow_replacement, allow_removal, region
        )
        super().__init__(
            id,
            input=input,
            install_commands=list(install_commands),
            commands=[
                review_command(plan_id, allow_replacement=allow_replacement, allow_removal=allow_removal, region=region)
            ],
            role_policy_statements=[iam.PolicyStatement(actions=list(REVIEW_ACTIONS), resources=["*"])],
        )


def _review_target(
    execution: ProvisionedProductPlanExecution | None,
    plan_id: str | None,
    allow_replacement: bool | None,
    allow_removal: bool | None,
    region: str | None,
) -> tuple[str, bool, bool, str | None]:
    """Plan id, flags and Region to review with: the execution's, or the ones given."""
    if (execution is None) == (plan_id is None):
        raise ValueError("Give PlanReviewStep exactly one of execution and plan_id.")
    if execution is None:
        return str(plan_id), bool(allow_replacement), bool(allow_removal), region
    if execution.plan_id is None:
        raise ValueError(
            f"{execution.node.path} is in spec mode: its plan is created during the deployment, so there is "
            "no plan to review before it (the handler's change gate still applies)."
        )
    for name, given, deployed in (
        ("allow_replacement", allow_replacement, execution.allow_replacement),
        ("allow_removal", allow_removal, execution.allow_removal),
    ):
        if given is not None and given != deployed:
            raise ValueError(
                f"PlanReviewStep {name}={given} differs from {execution.node.path}'s {name}={deployed}: the review "
                "would judge the plan with other flags than the deployment."
            )
    return execution.plan_id, execution.allow_replacement, execution.allow_removal, region or Stack.of(execution).region
