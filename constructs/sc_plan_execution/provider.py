"""The one provider function per stack that every ProvisionedProductPlanExecution shares.

One function per stack (not per resource) keeps deployments small and gives operators one log
group and one role to look at. It is found or created as a child of the Stack under a fixed id.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import (
    Acknowledgment,
    Annotations,
    Aws,
    CfnCondition,
    CfnResource,
    CustomResource,
    Duration,
    Fn,
    RemovalPolicy,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_servicecatalog as servicecatalog
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct, IDependable

from sc_plan_execution.bundling import LocalPipBundling, provider_code
from sc_plan_execution.provider_options import ParameterizedOptions, ProviderOptions
from sc_plan_execution.scanner_skips import skip_checkov
from sc_plan_provider.properties.resource import OWNERS_GUARD_TYPE

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
    # Spec mode resolves ProductName, ProvisioningArtifactName and PathName to ids (the end user's
    # DescribeProduct), and tells whether changed tags can take effect (DescribeProvisioningParameters'
    # constraint types).
    "servicecatalog:DescribeProduct",
    "servicecatalog:DescribeProvisioningParameters",
)

# Only CloudFormation's requests count (sc_plan_provider/runtime/confirmation.py): before acting on a
# request, the function asks CloudFormation whether it shows the request in progress. Exactly these
# two read actions, on the stacks of the function's own account and Region.
CLOUDFORMATION_ACTIONS: tuple[str, ...] = ("cloudformation:DescribeStackResource", "cloudformation:DescribeStacks")

ENVIRONMENT: dict[str, str] = {
    "POWERTOOLS_SERVICE_NAME": "servicecatalog-plan-execution",
    "POWERTOOLS_METRICS_NAMESPACE": "ServiceCatalogPlanExecution",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

# The request ledger (sc_plan_provider/records/ledger.py): first arrival and single answer per request.
LEDGER_ACTIONS: tuple[str, ...] = ("dynamodb:UpdateItem", "dynamodb:GetItem")
LEDGER_TABLE_ENV_VAR = "REQUESTS_TABLE_NAME"
LEDGER_KEY = "RequestKey"
LEDGER_TTL_ATTRIBUTE = "ExpiresAt"

# Who owns each provisioned product (sc_plan_provider/records/owners.py): the deputy's memory.
OWNERS_ACTIONS: tuple[str, ...] = ("dynamodb:UpdateItem", "dynamodb:GetItem")
OWNERS_TABLE_ENV_VAR = "OWNERS_TABLE_NAME"
OWNERS_KEY = "ProvisionedProductId"
OWNERS_TTL_ATTRIBUTE = "ExpiresAt"
# An ephemeral provider's owners table guard reads the whole table once, when its stack is deleted;
# the scheduled drift check (sc_plan_provider/routes/drift_check.py) reads it at every check.
OWNERS_SCAN_ACTIONS: tuple[str, ...] = ("dynamodb:Scan",)
# The packaged template's scan grant for the drift check, a policy of its own under the schedule's condition.
DRIFT_CHECK_SCAN_POLICY = "DriftCheckScan"
# The scheduled drift check's input: what tells its invocation from CloudFormation's requests.
DRIFT_CHECK_EVENT = {"DriftCheck": True}

# cdk-nag 3 finding id for a `Resource: "*"` statement, in the form its report asks for.
NAG_WILDCARD_RESOURCE = "AwsSolutions::AwsSolutions-IAM5[Resource::*]"

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
# Lambda's maximum: each invocation waits on Service Catalog as long as it can before handing over.
TIMEOUT = Duration.minutes(15)
MEMORY_MB = 256
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

# Asynchronous invocation (CloudFormation's requests and the function's own continuations are both
# Event invocations). Two retries (Lambda's default, explicit): every step is idempotent, and a
# retry is how a request survives a killed environment or an undelivered answer. An event older
# than an hour is dropped to the dead-letter queue: CloudFormation's ServiceTimeout is at most
# 3600 s, so by then it has stopped waiting for that request. A continuation is a new event, so
# its age counts from the hand-over, not from the first request.
MAX_RETRY_ATTEMPTS = 2
MAX_EVENT_AGE = Duration.hours(1)
# What the dead-letter queue keeps (docs/operations.md#failed-invocations-someone-sees). A message is the event as
# Lambda received it, ResponseURL included: that pre-signed URL stays valid 2 hours after
# CloudFormation sent the request (X-Amz-Expires=7200 in the events CloudFormation sends), which
# retention cannot extend, and within those hours an operator may answer FAILED through it
# instead of letting the stack wait. The messages stay 4 days (SQS's default, a weekend and a
# day) so the alarm's cause can still be read after the URL is dead; the queue is encrypted, TLS
# only, and closed to other accounts.
DEAD_LETTER_RETENTION = Duration.days(4)
ALARM_PERIOD = Duration.minutes(5)

# Lambda's permissions to manage the function's network interfaces in a VPC (Lambda developer
# guide, "Giving Lambda functions access to resources in an Amazon VPC"; the actions of the
# AWSLambdaVPCAccessExecutionRole managed policy without its logs actions). The two Describe actions
# work only on "*"; the four that change interfaces are limited to EC2 resources of this Region
# (the guide's own "arn:aws:ec2:<region>:<account>:*/*" form, any account: shared VPC subnets
# belong to the VPC owner's account), since the interfaces get their ids at run time.
NETWORK_INTERFACE_READ_ACTIONS: tuple[str, ...] = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
NETWORK_INTERFACE_WRITE_ACTIONS: tuple[str, ...] = (
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


def _nag_regional_resource(stack: Stack, service: str, account: str, resource: str) -> str:
    """cdk-nag's id for a wildcard resource of the stack's partition and Region: tokens appear as
    <AWS::Pseudo>, values as such. `account` is "*" or the stack's account ("own")."""

    def shown(value: str, pseudo: str) -> str:
        return f"<AWS::{pseudo}>" if Token.is_unresolved(value) else value

    owner = shown(stack.account, "AccountId") if account == "own" else account
    arn = f"arn:{shown(stack.partition, 'Partition')}:{service}:{shown(stack.region, 'Region')}:{owner}:{resource}"
    return f"AwsSolutions::AwsSolutions-IAM5[Resource::{arn}]"


# The role uses a customer-managed key only through the services that encrypt with it: DynamoDB
# (both tables) and SQS (Lambda sends dead letters with the function's role). Lambda decrypts the
# environment through a grant it creates itself; CloudWatch Logs uses the key policy below.
KEY_USE_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey")
KEY_USE_SERVICES: tuple[str, ...] = ("dynamodb", "sqs")
# What CloudWatch Logs needs in the key policy to encrypt a log group (CloudWatch Logs user guide,
# "Encrypt log data in CloudWatch Logs using AWS KMS"), for log groups of this account and Region.
LOGS_KEY_ACTIONS: tuple[str, ...] = (
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
)
# Interface endpoints the function needs in a VPC without NAT; DynamoDB and S3 (the ResponseURL's
# bucket) are gateway endpoints.
INTERFACE_ENDPOINTS: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "ServiceCatalogEndpoint": ec2.InterfaceVpcEndpointAwsService.SERVICE_CATALOG,
    "LambdaEndpoint": ec2.InterfaceVpcEndpointAwsService.LAMBDA_,
    "XRayEndpoint": ec2.InterfaceVpcEndpointAwsService.XRAY,
}
GATEWAY_ENDPOINTS: dict[str, ec2.GatewayVpcEndpointAwsService] = {
    "DynamoDbEndpoint": ec2.GatewayVpcEndpointAwsService.DYNAMODB,
    "S3Endpoint": ec2.GatewayVpcEndpointAwsService.S3,
}
SERVICE_CATALOG_POLICY = "ServiceCatalogPlanExecution"
CONFIRM_REQUESTS_POLICY = "ConfirmRequests"
NETWORK_INTERFACES_POLICY = "NetworkInterfaces"
ENCRYPTION_KEY_POLICY = "EncryptionKey"
IMPORTED_KEY_WARNING = "sc-plan-execution:keyPolicy"


def _if(condition: CfnCondition | None, value: Any, otherwise: Any = Aws.NO_VALUE) -> Any:
    """`value` while `condition` holds (always, without one), else `otherwise` (absent by default)."""
    return value if condition is None else Fn.condition_if(condition.logical_id, value, otherwise)


def _cfn(construct: IConstruct) -> CfnResource:
    resource = construct.node.default_child
    assert isinstance(resource, CfnResource), construct.node.path
    return resource


class PlanExecutionProvider(Construct):
    """Role, log group, tables, function, dead-letter queue and alarms that answer
    `Custom::ServiceCatalogPlanExecution` requests.

    Use `PlanExecutionProvider.of(scope, options)`; constructing it directly twice in a stack fails
    on the duplicate id, which is the point.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code | None = None,
        options: ProviderOptions | None = None,
        parameterized: ParameterizedOptions | None = None,
    ) -> None:
        """`code` replaces the locally bundled asset, e.g. `Code.from_bucket` for a template without CDK
        assets. `options` are what an organisation requires (see `ProviderOptions`); `parameterized`
        is the same set as template parameters under conditions (the packaged template), not both."""
        super().__init__(scope, construct_id)
        if options is not None and parameterized is not None:
            raise ValueError("Give options (CDK values) or parameterized (template parameters), not both.")
        self.options = options or ProviderOptions()
        self._portfolios: dict[str, IDependable] = {}
        key, key_if = self._switch(self.options.encryption_key, parameterized and parameterized.encryption_key)
        topic, topic_if = self._switch(self.options.alarm_topic, parameterized and parameterized.alarm_topic)
        concurrency, concurrency_if = self._switch(
            self.options.reserved_concurrent_executions,
            parameterized and parameterized.reserved_concurrent_executions,
        )
        schedule, schedule_if = self._switch(
            self.options.drift_check_schedule, parameterized and parameterized.drift_check_schedule
        )
        vpc_if = parameterized.vpc_config.condition if parameterized else None
        in_vpc = self.options.vpc is not None or parameterized is not None

        # Kept with the stack unless the options say it is ephemeral (then owners_guard decides).
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=LOG_RETENTION, encryption_key=key, removal_policy=self.options.removal_policy
        )
        if key is not None:
            self._let_logs_use(key, warn=parameterized is None)
            self._only_if(key_if, self.log_group, "kms_key_id")
            if key_if is not None:
                self._acknowledge_unreachable_branch(self.log_group, ("F3031",), "KmsKeyId")

        self.role = self._role(key, in_vpc, {ENCRYPTION_KEY_POLICY: key_if, NETWORK_INTERFACES_POLICY: vpc_if})
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
            **self._table_encryption(key),
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
        skip_checkov(self.requests_table, "CKV_AWS_28")
        self.role.add_to_policy(
            iam.PolicyStatement(actions=list(LEDGER_ACTIONS), resources=[self.requests_table.table_arn])
        )

        self.owners_table = self._owners_table(key, schedule, schedule_if)
        for table in (self.requests_table, self.owners_table):
            if key is not None and key_if is not None:
                _cfn(table).add_property_override(
                    "SSESpecification",
                    _if(key_if, {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key.key_arn}),
                )
            if key is None or key_if is not None:
                skip_checkov(table, "CKV_AWS_119")
        if key is None or key_if is not None:
            skip_checkov(self.log_group, "CKV_AWS_158")

        self.dead_letter_queue = self._dead_letter_queue(key, key_if)

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
            environment_encryption=key,
            reserved_concurrent_executions=concurrency,
            vpc=self.options.vpc,
            vpc_subnets=self.options.vpc_subnets,
            security_groups=list(self.options.security_groups) or None,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=MAX_RETRY_ATTEMPTS,
            max_event_age=MAX_EVENT_AGE,
        )
        function = _cfn(self.function)
        self._only_if(key_if, self.function, "kms_key_arn")
        self._only_if(concurrency_if, self.function, "reserved_concurrent_executions")
        if parameterized is not None:
            vpc = parameterized.vpc_config.value
            function.add_property_override(
                "VpcConfig",
                _if(vpc_if, {"SubnetIds": vpc.subnet_ids, "SecurityGroupIds": vpc.security_group_ids}),
            )
            self._acknowledge_unreachable_branch(
                self.function, ("E1150", "F3012", "F3031"), "KmsKeyArn, VpcConfig and ReservedConcurrentExecutions"
            )
        for check, unset in (("CKV_AWS_173", key), ("CKV_AWS_117", self.options.vpc), ("CKV_AWS_115", concurrency)):
            if unset is None or parameterized is not None:
                skip_checkov(function, check)
        if self.options.create_vpc_endpoints and self.options.vpc is not None:
            self.vpc_endpoints = self._vpc_endpoints(self.options.vpc, self.options.vpc_subnets)

        self.self_invoke_policy = self._self_invoke_policy(function)
        # Tracing.ACTIVE adds xray:PutTraceSegments/PutTelemetryRecords to the default policy.
        default_policy = self.role.node.try_find_child("DefaultPolicy")
        Validations.of(default_policy or self.role).acknowledge(
            Acknowledgment(
                id=NAG_WILDCARD_RESOURCE,
                reason="X-Ray PutTraceSegments and PutTelemetryRecords do not support resource-level permissions.",
            )
        )
        self.alarms = self._alarms(topic, topic_if)
        self.owners_guard = self._owners_guard()
        self.drift_check_rule = self._drift_check_rule(schedule, schedule_if)

    def _drift_check_rule(
        self, schedule: events.Schedule | None, schedule_if: CfnCondition | None
    ) -> events.Rule | None:
        """The scheduled drift check, if the options ask for it: EventBridge invokes the function with
        `DRIFT_CHECK_EVENT` (Lambda's permission names this rule as the source). The check only reads.
        In the packaged template the rule and its permission exist only while `schedule_if` holds."""
        if schedule is None:
            return None
        rule = events.Rule(
            self,
            "DriftCheckSchedule",
            schedule=schedule,
            description="Checks whether each provisioned product is still what its stack declares",
            targets=[
                targets.LambdaFunction(
                    self.function, event=events.RuleTargetInput.from_object(DRIFT_CHECK_EVENT), retry_attempts=0
                )
            ],
        )
        if schedule_if is not None:
            # The rule and the target's lambda:InvokeFunction permission (a child of the rule).
            for resource in rule.node.find_all():
                if isinstance(resource, CfnResource):
                    resource.cfn_options.condition = schedule_if
        return rule

    def _self_invoke_policy(self, function: CfnResource) -> iam.Policy:
        """Continuation: the function invokes itself when a request outlives one invocation, by the
        ARN it was invoked with: qualified when a ServiceToken names an alias or a version, which the
        unqualified ARN does not cover (IAM: a qualified ARN needs its own resource entry). A separate
        policy (not the role's default one, which the function depends on) avoids a dependency
        cycle; custom resources depend on it so it exists before the first request."""
        policy = iam.Policy(
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
        function_logical_id = Stack.of(self).get_logical_id(function)
        Validations.of(policy.node.default_child or policy).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions::AwsSolutions-IAM5[Resource::<{function_logical_id}.Arn>:*]",
                reason=(
                    "The function's own versions and aliases (its ARN followed by ':<qualifier>'): a ServiceToken "
                    "naming an alias invokes the function by that qualified ARN, and its continuation must invoke "
                    "the same qualified ARN, which the unqualified ARN does not cover. Nothing but this function."
                ),
            )
        )
        return policy

    # -- options ---------------------------------------------------------------------------------

    @staticmethod
    def _switch(value: Any, parameter: Any) -> tuple[Any, CfnCondition | None]:
        """An option's value and the condition it applies under (None: always, or never if unset)."""
        if parameter:
            return parameter.value, parameter.condition
        return value, None

    @staticmethod
    def _only_if(condition: CfnCondition | None, construct: IConstruct, attribute: str) -> None:
        """Keep a scalar property of `construct`'s resource only while `condition` holds."""
        if condition is None:
            return
        resource = _cfn(construct)
        value = getattr(resource, attribute)
        switched = _if(condition, value)
        if isinstance(value, str):
            switched = Token.as_string(switched)
        elif isinstance(value, list):
            switched = Token.as_list(switched)
        elif isinstance(value, int | float):
            switched = Token.as_number(switched)
        setattr(resource, attribute, switched)

    @staticmethod
    def _table_encryption(key: kms.IKey | None) -> dict[str, Any]:
        if key is None:
            return {}
        return {"encryption": dynamodb.TableEncryption.CUSTOMER_MANAGED, "encryption_key": key}

    def _let_logs_use(self, key: kms.IKey, *, warn: bool) -> None:
        """CloudWatch Logs encrypts with the key only if the key policy lets the Region's Logs
        service principal do so; the condition ties that to log groups of this account and Region
        (naming the one log group would make the key depend on it while it depends on the key)."""
        stack = Stack.of(self)
        statement = iam.PolicyStatement(
            sid="CloudWatchLogsOfThisAccountAndRegion",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=list(LOGS_KEY_ACTIONS),
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                    )
                }
            },
        )
        if not key.add_to_resource_policy(statement).statement_added and warn:
            Annotations.of(self).add_warning_v2(
                IMPORTED_KEY_WARNING,
                "encryption_key is an imported key, whose key policy this stack cannot change: it must allow "
                f"logs.<region>.amazonaws.com {', '.join(LOGS_KEY_ACTIONS)} for log groups of this account and "
                "Region (docs/operations.md#options-platform-teams-require), or the log group cannot be created.",
            )

    def _role(self, key: kms.IKey | None, in_vpc: bool, conditions: dict[str, CfnCondition | None]) -> iam.Role:
        stack = Stack.of(self)
        stacks = f"arn:{stack.partition}:cloudformation:{stack.region}:{stack.account}:stack/*/*"
        policies = {
            SERVICE_CATALOG_POLICY: iam.PolicyDocument(
                statements=[iam.PolicyStatement(actions=list(SERVICE_CATALOG_ACTIONS), resources=["*"])]
            ),
            CONFIRM_REQUESTS_POLICY: iam.PolicyDocument(
                statements=[iam.PolicyStatement(actions=list(CLOUDFORMATION_ACTIONS), resources=[stacks])]
            ),
        }
        if in_vpc:
            # Inline, so it exists before Lambda checks it when creating the function in the VPC.
            policies[NETWORK_INTERFACES_POLICY] = iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(actions=list(NETWORK_INTERFACE_READ_ACTIONS), resources=["*"]),
                    iam.PolicyStatement(
                        actions=list(NETWORK_INTERFACE_WRITE_ACTIONS),
                        resources=[f"arn:{stack.partition}:ec2:{stack.region}:*:*/*"],
                    ),
                ]
            )
        if key is not None:
            services = [f"{service}.{stack.region}.amazonaws.com" for service in KEY_USE_SERVICES]
            policies[ENCRYPTION_KEY_POLICY] = iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        actions=list(KEY_USE_ACTIONS),
                        resources=[key.key_arn],
                        conditions={"StringEquals": {"kms:ViaService": services}},
                    )
                ]
            )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Executes Service Catalog provisioned product plans for CloudFormation",
            # Inline rather than the default policy, so its Resource "*" is acknowledged on its own.
            inline_policies=policies,
        )
        cfn_role = _cfn(role)
        for index, (name, document) in enumerate(policies.items()):
            condition = conditions.get(name)
            if condition is not None:
                rendered = {"PolicyName": name, "PolicyDocument": Stack.of(self).resolve(document)}
                cfn_role.add_property_override(f"Policies.{index}", _if(condition, rendered))
        reason = (
            "Service Catalog's DescribeProvisionedProductPlan, ExecuteProvisionedProductPlan, "
            "DescribeRecord, DescribeProvisionedProduct, TerminateProvisionedProduct, "
            "UpdateProvisionedProduct, CreateProvisionedProductPlan, DeleteProvisionedProductPlan, "
            "ListProvisionedProductPlans, ListRecordHistory, DescribeProduct and DescribeProvisioningParameters act "
            "on plans, records, products and provisioned products that are not known at synth time (they come from "
            "the plan ids and product specs deployed) and that Service Catalog scopes by portfolio access, not by "
            "resource ARN: Resource must be '*'. Only these twelve actions are granted."
        )
        if in_vpc:
            reason += (
                " In a VPC, Lambda manages the function's network interfaces with the role: "
                "ec2:DescribeNetworkInterfaces and DescribeSubnets work only on '*'."
            )
            Validations.of(cfn_role).acknowledge(
                Acknowledgment(
                    id=_nag_regional_resource(stack, "ec2", "*", "*/*"),
                    reason=(
                        "Lambda creates, deletes and addresses the function's network interfaces in the VPC with "
                        "the role; their ids exist only at run time, so the four actions are limited to EC2 "
                        "resources of this Region (any account: subnets shared from the VPC owner's account). "
                        "Inline instead of the AWSLambdaVPCAccessExecutionRole managed policy (AwsSolutions-IAM4)."
                    ),
                )
            )
        # Acknowledged on the CfnRole only, so it cannot also cover the default policy.
        Validations.of(cfn_role).acknowledge(Acknowledgment(id=NAG_WILDCARD_RESOURCE, reason=reason))
        Validations.of(cfn_role).acknowledge(
            Acknowledgment(
                id=_nag_regional_resource(stack, "cloudformation", "own", "stack/*/*"),
                reason=(
                    "Before acting on a request the function confirms with CloudFormation that the request's stack "
                    "shows it in progress (DescribeStackResource, DescribeStacks: read only). A shared provider "
                    "serves every stack of its account and Region that names it, stacks not known at synth time, so "
                    "the two read actions are on this account's and Region's stacks."
                ),
            )
        )
        return role

    def _dead_letter_queue(self, key: kms.IKey | None, key_if: CfnCondition | None) -> sqs.Queue:
        """Where Lambda puts an event whose every delivery failed
        (docs/operations.md#failed-invocations-someone-sees)."""
        queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS if key is not None else sqs.QueueEncryption.SQS_MANAGED,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
        )
        if key_if is not None:
            cfn_queue = _cfn(queue)
            assert isinstance(cfn_queue, sqs.CfnQueue)
            cfn_queue.kms_master_key_id = Token.as_string(_if(key_if, cfn_queue.kms_master_key_id))
            cfn_queue.sqs_managed_sse_enabled = _if(key_if, Aws.NO_VALUE, True)
        if key is None or key_if is not None:
            skip_checkov(queue, "CKV_AWS_27")
        # The events hold pre-signed ResponseURLs: no other account may read them, whatever a later
        # statement allows. In the account, reading takes sqs:ReceiveMessage on this queue (and, with a
        # customer-managed key, kms:Decrypt on it).
        queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyThisAccountReads",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:PurgeQueue"],
                resources=[queue.queue_arn],
                conditions={"StringNotEquals": {"aws:PrincipalAccount": Stack.of(self).account}},
            )
        )
        Validations.of(_cfn(queue)).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This queue is the provider function's dead-letter queue (its DeadLetterConfig target).",
            )
        )
        return queue

    def _vpc_endpoints(self, vpc: ec2.IVpc, subnets: ec2.SubnetSelection | None) -> list[ec2.IVpcEndpoint]:
        """The endpoints the function needs in a VPC without NAT, reachable only from the function."""
        security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=vpc,
            description="HTTPS from the Service Catalog plan execution function to its VPC endpoints",
            allow_all_outbound=False,
        )
        for function_group in self.function.connections.security_groups:
            security_group.add_ingress_rule(function_group, ec2.Port.tcp(443), "HTTPS from the provider function")
        endpoints: list[ec2.IVpcEndpoint] = [
            ec2.InterfaceVpcEndpoint(
                self,
                endpoint_id,
                vpc=vpc,
                service=service,
                subnets=subnets,
                security_groups=[security_group],
                private_dns_enabled=True,
                open=False,
            )
            for endpoint_id, service in INTERFACE_ENDPOINTS.items()
        ]
        endpoints += [
            ec2.GatewayVpcEndpoint(self, endpoint_id, vpc=vpc, service=service, subnets=[subnets] if subnets else None)
            for endpoint_id, service in GATEWAY_ENDPOINTS.items()
        ]
        return endpoints

    def _alarms(self, topic: sns.ITopic | None, topic_if: CfnCondition | None) -> list[cloudwatch.Alarm]:
        """Failed invocations someone sees: errors, dead letters, and dead letters that could not be sent."""
        alarms = [
            cloudwatch.Alarm(
                self,
                alarm_id,
                alarm_description=description,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            for alarm_id, description, metric in (
                (
                    "ErrorsAlarm",
                    "The Service Catalog plan provider failed an invocation (init error, crash, timeout or an "
                    "undelivered answer); Lambda retries it twice. Read the function's log group.",
                    self.function.metric_errors(period=ALARM_PERIOD, statistic="Sum"),
                ),
                (
                    "DeadLettersAlarm",
                    "A request to the Service Catalog plan provider failed every delivery: its stack waits for "
                    "ServiceTimeout. The dead-letter queue holds the event (its ResponseURL is a credential).",
                    self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                        period=ALARM_PERIOD, statistic="Maximum"
                    ),
                ),
                (
                    "DeadLetterErrorsAlarm",
                    "Lambda could not put a failed request of the Service Catalog plan provider in its dead-letter "
                    "queue (queue or key permissions): the request is lost.",
                    self.function.metric("DeadLetterErrors", period=ALARM_PERIOD, statistic="Sum"),
                ),
            )
        ]
        if topic is not None:
            for alarm in alarms:
                alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
                self._only_if(topic_if, alarm, "alarm_actions")
                if topic_if is not None:
                    self._acknowledge_unreachable_branch(alarm, ("F3033",), "AlarmActions")
        return alarms

    @staticmethod
    def _acknowledge_unreachable_branch(construct: IConstruct, rules: tuple[str, ...], properties: str) -> None:
        """CDK's template validation (@aws-cdk/core:validateAgainstDefaultRules) reads the Fn::If
        branch that is in force only when an option's parameter is given with that parameter's empty
        default; cfn-lint, which follows the conditions, checks the template as deployed (`make test`)."""
        for rule in rules:
            Validations.of(_cfn(construct)).acknowledge(
                Acknowledgment(
                    id=f"CloudFormation-Validate::{rule}",
                    reason=(
                        f"{properties} are set only under the condition that their option's parameter is not "
                        "empty; the validator reads that branch with the parameter's empty default."
                    ),
                )
            )

    def _owners_table(
        self, key: kms.IKey | None, schedule: events.Schedule | None, schedule_if: CfnCondition | None
    ) -> dynamodb.Table:
        """Who owns each product. Owner records must outlive the provider's own replacement: a lost
        record lets the first stack that names the product adopt it
        (docs/shared-provider.md#a-shared-provider-is-a-deputy); an ephemeral provider's table goes
        with its stack, past the owners guard."""
        table = dynamodb.Table(
            self,
            "Owners",
            partition_key=dynamodb.Attribute(name=OWNERS_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=OWNERS_TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=self.options.removal_policy,
            **self._table_encryption(key),
        )
        # Scanned only by an ephemeral provider's guard and by the scheduled drift check; in the
        # packaged template, by the check while its schedule parameter is given (its own policy).
        scans = self._ephemeral or (schedule is not None and schedule_if is None)
        actions = [*OWNERS_ACTIONS, *(OWNERS_SCAN_ACTIONS if scans else ())]
        self.role.add_to_policy(iam.PolicyStatement(actions=actions, resources=[table.table_arn]))
        if schedule is not None and schedule_if is not None and not scans:
            policy = iam.Policy(
                self,
                DRIFT_CHECK_SCAN_POLICY,
                roles=[self.role],
                statements=[iam.PolicyStatement(actions=list(OWNERS_SCAN_ACTIONS), resources=[table.table_arn])],
            )
            _cfn(policy).cfn_options.condition = schedule_if
        return table

    def _owners_guard(self) -> CustomResource | None:
        """Stops the deletion of an ephemeral provider's stack while its owners table holds the owner
        of a product that still exists (the handler's routes/owners_guard.py): it depends on the table,
        and every resource this provider answers depends on it, so it is deleted after them and before
        the table."""
        if not self._ephemeral:
            return None
        guard = CustomResource(
            self, "OwnersGuard", service_token=self.function.function_arn, resource_type=OWNERS_GUARD_TYPE
        )
        guard.node.add_dependency(self.owners_table)
        guard.node.add_dependency(self.self_invoke_policy)
        return guard

    @property
    def _ephemeral(self) -> bool:
        """The options' RemovalPolicy.DESTROY: the owners table and log group go with the stack."""
        return self.options.removal_policy == RemovalPolicy.DESTROY

    @classmethod
    def of(cls, scope: Construct, options: ProviderOptions | None = None) -> PlanExecutionProvider:
        """Find the stack's provider, creating it on first use. `options` None takes the provider as
        it is; options that differ from those it was created with fail: a stack has one provider."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(PROVIDER_ID)
        if isinstance(existing, PlanExecutionProvider):
            if options is not None and options != existing.options:
                raise ValueError(
                    f"Stack {stack.node.path} already has its one provider, with options "
                    f"({existing.options.describe()}); {scope.node.path} asks for ({options.describe()}). "
                    "Pass the same provider_options to every ProvisionedProductPlanExecution in the stack "
                    "(or only to the first one)."
                )
            return existing
        return cls(stack, PROVIDER_ID, options=options)

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
