"""A stack that holds nothing but the provider, and exports its function's ARN.

Templates outside CDK (hand-written YAML, StackSets, other teams' stacks) cannot create the
provider themselves; they need one function per account and Region to name as `ServiceToken`.
Deploying this stack once gives them that, under a stable export:
`ServiceToken: !ImportValue ServiceCatalogPlanExecution-ServiceToken`.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from sc_plan_execution.provider import PROVIDER_ID, PlanExecutionProvider
from sc_plan_execution.provider_options import ParameterizedOptions, ProviderOptions

# The export templates import. Export names are unique per account and Region, and cannot change
# while any stack imports them: override it only to run two providers side by side.
DEFAULT_EXPORT_NAME = "ServiceCatalogPlanExecution-ServiceToken"
SERVICE_TOKEN_OUTPUT_ID = "ServiceToken"  # noqa: S105 - the custom resource property, not a secret
# The owners table: what `sc-plan-execution drift --provider-stack <name>` reads (drift.py).
OWNERS_TABLE_OUTPUT_ID = "OwnersTableName"


class PlanExecutionProviderStack(Stack):
    """The shared provider (the same `PlanExecutionProvider` the construct creates per stack) and
    a `CfnOutput` exporting its function ARN under `export_name`.

    `code` replaces the locally bundled asset (see `PlanExecutionProvider`); `options` are what an
    organisation requires of it (`ProviderOptions`: key, VPC, concurrency, alarm topic);
    `stack_kwargs` go to `Stack` (description, env, synthesizer...). Subclasses that need their own
    constructs for the code, the export name or the options (CloudFormation parameters) override
    `function_code`, `service_token_export_name` and `parameterized_options`, which run after the
    Stack exists and before the provider.
    """

    def __init__(
        self,
        scope: Construct | None,
        construct_id: str,
        *,
        export_name: str = DEFAULT_EXPORT_NAME,
        code: lambda_.Code | None = None,
        options: ProviderOptions | None = None,
        **stack_kwargs: Any,
    ) -> None:
        stack_kwargs.setdefault("description", "Shared provider for Custom::ServiceCatalogPlanExecution resources")
        super().__init__(scope, construct_id, **stack_kwargs)
        self._export_name = export_name
        self._code = code
        # Under the construct's fixed id, so a ProvisionedProductPlanExecution added to this stack reuses it.
        self.provider = PlanExecutionProvider(
            self, PROVIDER_ID, code=self.function_code(), options=options, parameterized=self.parameterized_options()
        )
        self.service_token_output = CfnOutput(
            self,
            SERVICE_TOKEN_OUTPUT_ID,
            value=self.provider.service_token,
            description="ServiceToken for Custom::ServiceCatalogPlanExecution resources (Fn::ImportValue)",
            export_name=self.service_token_export_name(),
        )
        self.owners_table_output = CfnOutput(
            self,
            OWNERS_TABLE_OUTPUT_ID,
            value=self.provider.owners_table.table_name,
            description="The provider's owners table (sc-plan-execution drift --provider-stack)",
        )

    def function_code(self) -> lambda_.Code | None:
        """The provider's code; None bundles the handler package locally (a CDK asset)."""
        return self._code

    def parameterized_options(self) -> ParameterizedOptions | None:
        """The options as template parameters (the packaged template); None takes `options`."""
        return None

    def service_token_export_name(self) -> str:
        """The name other templates import the function ARN by."""
        return self._export_name
