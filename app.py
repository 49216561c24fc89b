"""Example CDK app, checked by cdk-nag: a stack that executes a Service Catalog plan, and the shared
provider stack that raw CloudFormation templates import (`cdk deploy ServiceCatalogPlanProvider`).

Synthesize with `npx cdk synth` (uses cdk.json) or `CDK_OUTDIR=cdk.out python app.py`.
The plan id comes from the `planId` context value (`-c planId=...`); the default is the placeholder
plan that the local demo cloud seeds. For a real account, `-c portfolioArn=...` associates the
provider's role with the product's portfolio, and `-c outputKey=...` names the product output the
stack surfaces (default `BucketName`, the demo product's).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import App, CfnOutput, Stack, Validations
from aws_cdk import aws_servicecatalog as servicecatalog
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from sc_plan_execution import PlanExecutionProviderStack, ProvisionedProductPlanExecution

REPO = Path(__file__).resolve().parent

STACK_NAME = "ServiceCatalogPlanDemo"
PROVIDER_STACK_NAME = "ServiceCatalogPlanProvider"
PLAN_ID_CONTEXT = "planId"
PORTFOLIO_ARN_CONTEXT = "portfolioArn"
OUTPUT_KEY_CONTEXT = "outputKey"
DEFAULT_PLAN_ID = "plan-demo-bucket"
OUTPUT_KEY = "BucketName"


class ServiceCatalogPlanDemoStack(Stack):
    """Executes the demo plan (a product that creates one bucket) and surfaces its results."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan_id: str,
        portfolio_arn: str | None = None,
        output_key: str = OUTPUT_KEY,
    ) -> None:
        super().__init__(scope, construct_id, description="Executes a Service Catalog provisioned product plan")
        portfolio = (
            servicecatalog.Portfolio.from_portfolio_arn(self, "Portfolio", portfolio_arn) if portfolio_arn else None
        )
        execution = ProvisionedProductPlanExecution(self, "Bucket", plan_id=plan_id, portfolio=portfolio)
        CfnOutput(self, "ProvisionedProductId", value=execution.provisioned_product_id)
        CfnOutput(self, "RecordId", value=execution.record_id)
        CfnOutput(self, output_key, value=execution.get_output(output_key))


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context, so `python app.py` synthesizes exactly what `cdk synth` does."""
    context: dict[str, Any] = json.loads((REPO / "cdk.json").read_text())["context"]
    return context


def build_app(*, outdir: str | None = None, context: dict[str, Any] | None = None) -> App:
    """Build the app with cdk-nag's AwsSolutions pack registered (findings fail the synth)."""
    app = App(outdir=outdir, context={**cdk_json_context(), **(context or {})})
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    plan_id = app.node.try_get_context(PLAN_ID_CONTEXT) or DEFAULT_PLAN_ID
    portfolio_arn = app.node.try_get_context(PORTFOLIO_ARN_CONTEXT)
    output_key = app.node.try_get_context(OUTPUT_KEY_CONTEXT) or OUTPUT_KEY
    ServiceCatalogPlanDemoStack(
        app,
        STACK_NAME,
        plan_id=str(plan_id),
        portfolio_arn=str(portfolio_arn) if portfolio_arn else None,
        output_key=str(output_key),
    )
    PlanExecutionProviderStack(app, PROVIDER_STACK_NAME)
    return app


if __name__ == "__main__":
    build_app().synth()
