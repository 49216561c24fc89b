"""The one provider function per stack that every ProvisionedProductPlanExecution shares.

One function per stack (not per resource) keeps deployments small and gives operators one log
group and one role to look at. It is found or created as a child of the Stack under a fixed id.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_servicecatalog as servicecatalog
from constructs import Construct, IDependable

from sc_plan_execution.bundling import LocalPipBundling, provider_code

PROVIDER_ID = "ServiceCatalogPlanExecutionProvider"
HANDLER = "sc_plan_provider.handler.lambda_handler"

# Every Service Catalog action the handler calls, and nothing else. Add an action here (and only
# here) when the handler starts calling a new API. None of these supports resource-level
# permissions (Service Authorization Reference: no resource types, only the
# servicecatalog:accountLevel/roleLevel/userLevel condition keys), so they need Resource "*".
SERVICE_CATALOG_ACTIONS: tuple[str, ...] = (
    "servicecatalog:DescribeProvisionedProductPlan",
    "servicecatalog:ExecuteProvisionedProductPlan",
    "servicecatalog:DescribeRecord",
    "servicecatalog:DescribeProvisionedProduct",
    "servicecatalog:TerminateProvisionedProduct",
    # Restoring an executed plan (rollbacks, returns to an earlier plan) re-applies its artifact.
    "servicecatalog:UpdateProvisionedProduct",
    "servicecatalog:ListRecordHistory",
    # Spec mode plans the declared product on every deployment and deletes the plans it created,
    # also those it left on the product earlier (one plan per provisioned product).
    "servicecatalog:CreateProvisionedProductPlan",
    "servicecatalog:DeleteProvisionedProductPlan",
    "servicecatalog:ListProvisionedProductPlans",
)

ENVIRONMENT: dict[str, str] = {
    "POWERTOOLS_SERVICE_NAME": "servicecatalog-plan-execution",
    "POWERTOOLS_METRICS_NAMESPACE": "ServiceCatalogPlanExecution",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

# The request ledger (sc_plan_provider/request_ledger.py): first arrival and single answer per request.
LEDGER_ACTIONS: tuple[str, ...] = ("dynamodb:UpdateItem", "dynamodb:GetItem")
LEDGER_TABLE_ENV_VAR = "REQUESTS_TABLE_NAME"
LEDGER_KEY = "RequestKey"
LEDGER_TTL_ATTRIBUTE = "ExpiresAt"

# Who owns each provisioned product (sc_plan_provider/ownership.py): the deputy's memory.
OWNERS_ACTIONS: tuple[str, ...] = ("dynamodb:UpdateItem", "dynamodb:GetItem")
OWNERS_TABLE_ENV_VAR = "OWNERS_TABLE_NAME"
OWNERS_KEY = "ProvisionedProductId"
OWNERS_TTL_ATTRIBUTE = "ExpiresAt"

# cdk-nag 3 finding id for a `Resource: "*"` statement, in the form its report asks for.
NAG_WILDCARD_RESOURCE = "AwsSolutions::AwsSolutions-IAM5[Resource::*]"

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
# Lambda's maximum: each invocation waits on Service Catalog as long as it can before handing over.
TIMEOUT = Duration.minutes(15)
MEMORY_MB = 256
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


class PlanExecutionProvider(Construct):
    """Role, log group and function that answer `Custom::ServiceCatalogPlanExecution` requests.

    Use `PlanExecutionProvider.of(scope)`; constructing it directly twice in a stack fails on the
    duplicate id, which is the point.
    """

    def __init__(self, scope: Construct, construct_id: str, *, code: lambda_.Code | None = None) -> None:
        """`code` replaces the locally bundled asset, e.g. `Code.from_bucket` for a template without CDK assets."""
        super().__init__(scope, construct_id)
        self._portfolios: dict[str, IDependable] = {}

        self.log_group = logs.LogGroup(self, "LogGroup", retention=LOG_RETENTION)

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Executes Service Catalog provisioned product plans for CloudFormation",
            # Inline rather than the default policy, so its Resource "*" is acknowledged on its own.
            inline_policies={
                "ServiceCatalogPlanExecution": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(actions=list(SERVICE_CATALOG_ACTIONS), resources=["*"]),
                    ]
                )
            },
        )
        # Acknowledged on the CfnRole only, so it cannot also cover the default policy below.
        Validations.of(self.role.node.default_child or self.role).acknowledge(
            Acknowledgment(
                id=NAG_WILDCARD_RESOURCE,
                reason=(
                    "Service Catalog's DescribeProvisionedProductPlan, ExecuteProvisionedProductPlan, "
                    "DescribeRecord, DescribeProvisionedProduct, TerminateProvisionedProduct, "
                    "UpdateProvisionedProduct, CreateProvisionedProductPlan, DeleteProvisionedProductPlan, "
                    "ListProvisionedProductPlans and ListRecordHistory act on plans, records and provisioned "
                    "products that are not known at synth time (they come from the plan ids and product specs "
                    "deployed) and that Service Catalog scopes by portfolio access, not by resource ARN: Resource "
                    "must be '*'. Only these ten actions are granted."
                ),
            )
        )
        # Written to explicitly (no AWSLambdaBasicExecutionRole managed policy: AwsSolutions-IAM4).
        self.log_group.grant_write(self.role)

        # Tiny, short-lived items (TTL 2 h); on-demand billing costs nothing when idle.
        self.requests_table = dynamodb.Table(
            self,
            "Requests",
            partition_key=dynamodb.Attribute(name=LEDGER_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=LEDGER_TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.DESTROY,
        )
        Validations.of(self.requests_table.node.default_child or self.requests_table).acknowledge(
            Acknowledgment(
                id="AwsSolutions-DDB3",
                reason=(
                    "The table only holds in-flight request bookkeeping that expires after 2 hours; "
                    "there is nothing to restore to a point in time."
                ),
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=list(LEDGER_ACTIONS), resources=[self.requests_table.table_arn])
        )

        # Owner records must outlive the provider's own replacement: a lost record lets the first
        # stack that names the product adopt it (README: what the provider protects against).
        self.owners_table = dynamodb.Table(
            self,
            "Owners",
            partition_key=dynamodb.Attribute(name=OWNERS_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=OWNERS_TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=list(OWNERS_ACTIONS), resources=[self.owners_table.table_arn])
        )

        self.function = lambda_.Function(
            self,
            "Function",
            description="Executes Service Catalog provisioned product plans (Custom::ServiceCatalogPlanExecution)",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=code if code is not None else provider_code(LocalPipBundling()),
            timeout=TIMEOUT,
            memory_size=MEMORY_MB,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                **ENVIRONMENT,
                LEDGER_TABLE_ENV_VAR: self.requests_table.table_name,
                OWNERS_TABLE_ENV_VAR: self.owners_table.table_name,
            },
        )
        # Continuation: the function invokes itself when a request outlives one invocation, by the
        # ARN it was invoked with: qualified when a ServiceToken names an alias or a version, which
        # the unqualified ARN does not cover (IAM: a qualified ARN needs its own resource entry).
        # A separate policy (not the role's default one, which the function depends on) avoids a
        # dependency cycle; custom resources depend on it so it exists before the first request.
        self.self_invoke_policy = iam.Policy(
            self,
            "SelfInvoke",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[self.function.function_arn, f"{self.function.function_arn}:*"],
                )
            ],
        )
        function_logical_id = Stack.of(self).get_logical_id(self.function.node.default_child)  # type: ignore[arg-type]
        Validations.of(self.self_invoke_policy.node.default_child or self.self_invoke_policy).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{function_logical_id}.Arn>:*]",
                reason=(
                    "The function's own versions and aliases (its ARN followed by ':<qualifier>'): a ServiceToken "
                    "naming an alias invokes the function by that qualified ARN, and its continuation must invoke "
                    "the same qualified ARN, which the unqualified ARN does not cover. Nothing but this function."
                ),
            )
        )
        # Tracing.ACTIVE adds xray:PutTraceSegments/PutTelemetryRecords to the default policy.
        default_policy = self.role.node.try_find_child("DefaultPolicy")
        Validations.of(default_policy or self.role).acknowledge(
            Acknowledgment(
                id=NAG_WILDCARD_RESOURCE,
                reason="X-Ray PutTraceSegments and PutTelemetryRecords do not support resource-level permissions.",
            )
        )

    @classmethod
    def of(cls, scope: Construct) -> PlanExecutionProvider:
        """Find the stack's provider, creating it on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(PROVIDER_ID)
        if isinstance(existing, PlanExecutionProvider):
            return existing
        return cls(stack, PROVIDER_ID)

    @property
    def service_token(self) -> str:
        """The ARN CloudFormation invokes for each custom resource."""
        return self.function.function_arn

    def grant_portfolio_access(self, portfolio: servicecatalog.IPortfolio) -> IDependable:
        """Associate the provider's role with `portfolio`, once per portfolio.

        Returns what a custom resource must depend on, so the association exists before the first
        ExecuteProvisionedProductPlan call.
        """
        key = portfolio.node.addr
        if key not in self._portfolios:
            before = {child.node.addr for child in portfolio.node.children}
            portfolio.give_access_to_role(self.role)
            added = [child for child in portfolio.node.children if child.node.addr not in before]
            self._portfolios[key] = added[0] if added else portfolio
        return self._portfolios[key]
