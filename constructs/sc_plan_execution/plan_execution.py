"""`ProvisionedProductPlanExecution`: apply a Service Catalog plan as part of a CloudFormation stack.

A provisioned product plan (CreateProvisionedProductPlan) is Service Catalog's reviewed change set.
This construct executes it during a deployment and waits for the outcome, so the stack succeeds
or fails with the product, and exposes the product id, the record id and the product's outputs.

Access that users must set up (not done by this construct):

* The provider function's role must be able to see the product: pass `portfolio=` and the role is
  associated with that portfolio (AssociatePrincipalWithPortfolio), or associate it yourself.
* The product needs a launch constraint (a launch role) in that portfolio. Service Catalog then
  provisions with the launch role; the provider's role holds only the Service Catalog
  actions it calls and could not create the product's resources itself.
* Either plans are created outside the stack (console, CLI or CreateProvisionedProductPlan) and
  must be in status CREATE_SUCCESS when the stack deploys (pass their id as `plan_id`), or the
  product is declared with `spec=ProductSpec.of(...)` and every deployment plans, gates and
  executes it (spec mode).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

import jsii
from aws_cdk import CfnResource, CustomResource, Duration, ITaggableV2, RemovalPolicy, TagManager, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_servicecatalog as servicecatalog
from constructs import Construct

from sc_plan_execution import metrics
from sc_plan_execution.metrics import MetricOptions
from sc_plan_execution.provider import PlanExecutionProvider
from sc_plan_execution.provider_options import ProviderOptions
from sc_plan_execution.tags import SynthTimeCheck, product_tag_manager, tag_list
from sc_plan_provider.properties.resource import (
    ACCEPT_LANGUAGE,
    ADOPT_EXISTING,
    ALLOW_REMOVAL,
    ALLOW_REPLACEMENT,
    CHANGES_ADD,
    CHANGES_MODIFY,
    CHANGES_REMOVE,
    CHANGES_REPLACE,
    DEADLINE_SECONDS,
    LEARNED_POLLING,
    MAX_SERVICE_TIMEOUT_SECONDS,
    NO_ECHO,
    OUTPUTS_LEFT_OUT,
    PLAN_ID,
    POLLING_BACKOFF_RATE,
    POLLING_INTERVAL_SECONDS,
    POLLING_MAX_INTERVAL_SECONDS,
    REAPPLY_TOKEN,
    RETAIN_PHYSICAL_RESOURCES,
    SERVICE_TIMEOUT,
    TERMINATE_IGNORE_ERRORS,
    parse_properties,
)
from sc_plan_provider.properties.spec import ProductSpec
from sc_plan_provider.properties.spec_properties import NOTIFICATION_ARNS, TAGS
from sc_plan_provider.properties.values import InvalidPropertyError
from sc_plan_provider.waiting.policy import PollingPolicy

RESOURCE_TYPE = "Custom::ServiceCatalogPlanExecution"
# The construct's prop for each property it renders: a synth-time error names what the user wrote.
PROPS_BY_PROPERTY = {
    PLAN_ID: "plan_id",
    ACCEPT_LANGUAGE: "accept_language",
    POLLING_INTERVAL_SECONDS: "polling.interval_seconds",
    POLLING_BACKOFF_RATE: "polling.backoff_rate",
    POLLING_MAX_INTERVAL_SECONDS: "polling.max_interval_seconds",
    LEARNED_POLLING: "learned_polling",
    DEADLINE_SECONDS: "deadline",
    SERVICE_TIMEOUT: "service_timeout",
    ALLOW_REPLACEMENT: "allow_replacement",
    ALLOW_REMOVAL: "allow_removal",
    NO_ECHO: "no_echo",
    ADOPT_EXISTING: "adopt_existing",
    RETAIN_PHYSICAL_RESOURCES: "retain_physical_resources",
    TERMINATE_IGNORE_ERRORS: "terminate_ignore_errors",
    REAPPLY_TOKEN: "reapply_token",
}
RECORD_ID_ATTRIBUTE = "RecordId"
OUTPUTS_ATTRIBUTE_PREFIX = "Outputs."


def _number(value: float) -> str:
    """Render a number the way CloudFormation will hand it to the handler: as a string."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


# Stands in for a CDK token at synth time: valid for every property it can replace (ids, names,
# parameter and tag text), so only concrete values are checked; the handler checks the rest.
TOKEN_PLACEHOLDER = "token-resolved-at-deploy-time"  # noqa: S105 - not a secret: a CDK token stand-in
TOKEN_ARN_PLACEHOLDER = "arn:aws:sns:us-east-1:123456789012:token-resolved-at-deploy-time"  # noqa: S105 - not a secret


def _concrete(value: Any, placeholder: str = TOKEN_PLACEHOLDER) -> Any:
    """The value with every unresolved token replaced by a placeholder that passes validation."""
    if isinstance(value, list):
        if Token.is_unresolved(value):
            return []
        return [_concrete(item, placeholder) for item in value]
    if isinstance(value, dict):
        return {key: _concrete(item, placeholder) for key, item in value.items()}
    if isinstance(value, str) and Token.is_unresolved(value):
        return placeholder
    return value


def _duration_text(seconds: float) -> str:
    """A number of seconds as the user would write the Duration."""
    for unit, size in (("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"Duration.{unit}({seconds / size:g})"
    return f"Duration.seconds({seconds:g})"


def _check_durations(service_timeout: float | None, deadline: float | None) -> None:
    """The two Durations in the user's own terms (the handler's messages speak of seconds)."""
    if service_timeout is not None and not 1 <= service_timeout <= MAX_SERVICE_TIMEOUT_SECONDS:
        raise InvalidPropertyError(
            f"service_timeout {_duration_text(service_timeout)} is out of range: use at least Duration.seconds(1) "
            f"and at most Duration.hours(1) (CloudFormation waits at most an hour for a custom resource; "
            f"{SERVICE_TIMEOUT} {service_timeout:g} s)."
        )
    limit = MAX_SERVICE_TIMEOUT_SECONDS if service_timeout is None else service_timeout
    if deadline is not None and not 1 <= deadline <= limit:
        raise InvalidPropertyError(
            f"deadline {_duration_text(deadline)} is out of range: use at least Duration.seconds(1) and at most "
            f"the service_timeout, {_duration_text(limit)} (CloudFormation stops waiting then; "
            f"{DEADLINE_SECONDS} {deadline:g} s)."
        )


def _check_provider_choice(
    options: ProviderOptions | None,
    provider: PlanExecutionProvider | None,
    service_token: str | None,
    portfolio: servicecatalog.IPortfolio | None,
) -> None:
    """One way to name the provider; the options and the portfolio need one this app builds."""
    given = [name for name, value in (("provider", provider), ("service_token", service_token)) if value is not None]
    if len(given) == 2:
        raise ValueError("Give provider (a PlanExecutionProvider of this app) or service_token, not both.")
    if given and options is not None:
        raise ValueError(
            f"provider_options apply to the provider this stack creates; with {given[0]} the resource uses an "
            "existing provider: set the options where that provider is created."
        )
    if service_token is not None and portfolio is not None:
        raise ValueError(
            "portfolio needs the provider's role, which a service_token does not give: associate the shared "
            "provider's role with the portfolio where that provider is deployed, or pass provider= instead."
        )


def _seconds(duration: Duration) -> float | None:
    """Seconds of a concrete Duration; None for an unresolved one (checked at deploy time)."""
    if duration.is_unresolved():
        return None
    return float(duration.to_seconds(integral=False))


@jsii.implements(ITaggableV2)
class ProvisionedProductPlanExecution(Construct):
    """Executes one Service Catalog provisioned product plan and waits for it to finish.

    Props are checked at synth time with the same rules the handler applies at deploy time
    (`sc_plan_provider.properties.resource.parse_properties`), so a bad value fails `cdk synth` instead of a
    deployment. Values that are CDK tokens are only checked by the handler.

    Taggable like aws-cdk-lib's resources: in spec mode `Tags.of(scope).add(...)` reaches the
    provisioned product's tags (resource type `Custom::ServiceCatalogPlanExecution` for
    `include_resource_types`/`exclude_resource_types`; the spec's own tags win on a conflict). In
    plan mode nothing is rendered: a plan carries the tags it was created with.

    What `cdk destroy` leaves: the product is terminated (unless `removal_policy` is RETAIN), but the
    provider's Owners table and log group are retained on purpose (owner records must outlive the
    stack; logs say why a deployment failed); delete them by hand once no product of that provider
    is left (README: What cdk destroy leaves). With `provider=` or `service_token=` the stack has no
    provider of its own, and leaves nothing.
    """

    provider: PlanExecutionProvider | None
    """The `PlanExecutionProvider` (function, role, tables, `dead_letter_queue`, `alarms`) that answers
    this resource: the stack's own, or the one passed as `provider`; None with `service_token`."""

    resource: CustomResource
    """The underlying `CustomResource` (type `Custom::ServiceCatalogPlanExecution`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan_id: str | None = None,
        spec: ProductSpec | None = None,
        accept_language: str | None = None,
        polling: PollingPolicy | None = None,
        learned_polling: bool | None = None,
        deadline: Duration | None = None,
        service_timeout: Duration | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        portfolio: servicecatalog.IPortfolio | None = None,
        allow_replacement: bool = False,
        allow_removal: bool = False,
        no_echo: bool = False,
        adopt_existing: bool = False,
        retain_physical_resources: bool = False,
        terminate_ignore_errors: bool = False,
        reapply_token: str | None = None,
        provider_options: ProviderOptions | None = None,
        provider: PlanExecutionProvider | None = None,
        service_token: str | None = None,
    ) -> None:
        """Create the custom resource (and, once per stack, the provider that answers it).

        :param scope: the construct's parent.
        :param construct_id: its id in the scope.
        :param plan_id: id of the plan to execute (1-100 of ``[a-zA-Z0-9_-]``, becomes `PlanId`); it
            must be CREATE_SUCCESS when the stack deploys. Default: one of `plan_id`/`spec`.
        :param spec: the product to plan and apply on every deployment (spec mode), e.g.
            ``ProductSpec.of(product_id=..., provisioning_artifact_id=..., provisioned_product_name=...,
            parameters={"Size": "small"})``, or by names (``product_name=``, ``provisioning_artifact_name=``,
            ``path_name=``, resolved at deploy time); becomes `ProductId`, `ProvisioningArtifactId`, ...
            Default: one of `plan_id`/`spec`.
        :param accept_language: "en", "jp" or "zh" for Service Catalog's messages (`AcceptLanguage`).
            Default: English.
        :param polling: how often to ask Service Catalog for the record's status (`Polling*`). Giving
            it turns learned polling off (your policy alone is used) unless `learned_polling=True`,
            and then it is the policy the learned schedule builds on. Default: 1 s, x1.1, at most 30 s,
            with learned polling.
        :param learned_polling: shape the polling by how long the product's earlier provisionings took
            (its record history, `LearnedPolling`). Default: on when `polling` is not given, off when
            it is.
        :param deadline: when the handler gives up and fails the resource with a clear reason
            (`DeadlineSeconds`); must not exceed `service_timeout`. Default: 30 s before `service_timeout`.
        :param service_timeout: how long CloudFormation waits for an answer (`ServiceTimeout`, 1 s to
            1 h). Default: 1 hour.
        :param removal_policy: DESTROY terminates the provisioned product when the resource is
            deleted; RETAIN keeps the product (CloudFormation sends no Delete at all). Default: DESTROY.
        :param portfolio: associate the shared provider role with this portfolio, so it can see the
            plan's product; the product still needs a launch constraint in it. Default: none.
        :param allow_replacement: let the change gate execute a plan that replaces resources
            (Replacement TRUE or CONDITIONAL, `AllowReplacement`); False refuses it before anything
            executes. Default: False.
        :param allow_removal: let the change gate execute a plan that removes resources
            (`AllowRemoval`). Default: False.
        :param no_echo: mask the resource's attributes (ids, outputs) in stack events and
            DescribeStackResources (the response's `NoEcho`); `GetAtt` still works. Default: False.
        :param adopt_existing: spec mode: let the spec plan a provisioned product of its name that
            exists already and no stack owns; it is then this resource's, and its Delete terminates it
            (`AdoptExisting`). False refuses it, naming the product. Default: False.
        :param retain_physical_resources: the resource's Delete removes the product from Service Catalog
            but keeps its stack and resources (`RetainPhysicalResources`). Default: False.
        :param terminate_ignore_errors: the resource's Delete removes the product from Service Catalog
            even if its resources cannot be deleted (`TerminateIgnoreErrors`). Default: False.
        :param reapply_token: any string; a new value makes the next deployment re-apply the plan or
            spec to the product even though nothing else changed (`ReapplyToken`): the way back when
            the product drifted from what the stack declares (docs/drift.md#the-way-back). Default: none.
        :param provider_options: what the stack's one provider must have (customer-managed key, VPC,
            reserved concurrency, alarm topic); constructs in one stack that ask for different options
            fail at synth; none takes the stack's provider as it is. Default: none.
        :param provider: an existing provider to answer this resource, e.g. another stack's
            (`PlanExecutionProviderStack(...).provider`, or `other.provider` of a construct in another
            stack of the app): this stack then gets no function, tables, queue, log group or alarms of
            its own, and CDK passes the function's ARN across stacks. Default: the stack's own provider.
        :param service_token: the ServiceToken of a provider deployed outside this app, e.g.
            ``Fn.import_value("ServiceCatalogPlanExecution-ServiceToken")`` (the shared provider stack's
            export, docs/shared-provider.md). Its role is not known here: associate it with the
            product's portfolio where that provider is deployed (`portfolio` is refused). Default: none.
        """
        super().__init__(scope, construct_id)
        if (plan_id is None) == (spec is None):
            raise ValueError(
                "Give exactly one of plan_id (a plan made elsewhere) and spec (the product to plan on every "
                f"deployment); got {'both' if spec is not None else 'neither'}."
            )
        if adopt_existing is True and plan_id is not None:
            raise ValueError(
                "adopt_existing applies to spec mode only: a plan names its provisioned product itself, and "
                "executing it claims that product (docs/spec-mode.md#adopting-an-existing-provisioned-product)."
            )
        _check_provider_choice(provider_options, provider, service_token, portfolio)
        service_timeout = service_timeout or Duration.seconds(MAX_SERVICE_TIMEOUT_SECONDS)
        if learned_polling is not None and not isinstance(learned_polling, bool):
            raise InvalidPropertyError(f"learned_polling {learned_polling!r} is not a boolean: use True or False.")
        properties = self._properties(accept_language, polling, deadline)
        if learned_polling is not None:
            properties[LEARNED_POLLING] = "true" if learned_polling else "false"
        if reapply_token is not None:
            properties[REAPPLY_TOKEN] = reapply_token
        properties.update({PLAN_ID: plan_id} if plan_id is not None else spec.as_properties() if spec else {})
        flags = (
            (ALLOW_REPLACEMENT, allow_replacement),
            (ALLOW_REMOVAL, allow_removal),
            (NO_ECHO, no_echo),
            (ADOPT_EXISTING, adopt_existing),
            (RETAIN_PHYSICAL_RESOURCES, retain_physical_resources),
            (TERMINATE_IGNORE_ERRORS, terminate_ignore_errors),
        )
        for name, allowed in flags:
            if not isinstance(allowed, bool):
                raise InvalidPropertyError(f"{name} {allowed!r} is not a boolean: use True or False.")
            if allowed:
                properties[name] = "true"
        self._validate(properties, service_timeout)
        self._plan_id, self._allow_replacement, self._allow_removal = plan_id, allow_replacement, allow_removal
        self._tags = product_tag_manager(RESOURCE_TYPE, spec.tags if spec is not None else ())
        if spec is not None:
            self._render_tags(properties, service_timeout)

        self.provider = None if service_token else provider or PlanExecutionProvider.of(self, provider_options)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token if self.provider else str(service_token),
            resource_type=RESOURCE_TYPE,
            properties=properties,
            service_timeout=service_timeout,
            removal_policy=removal_policy,
        )
        if self.provider is not None:
            self._depend_on(self.provider, portfolio)

    def _depend_on(self, provider: PlanExecutionProvider, portfolio: servicecatalog.IPortfolio | None) -> None:
        """What must exist before this resource's first request, and be deleted after its last."""
        # The function may hand a request over to itself from the first request on.
        self.resource.node.add_dependency(provider.self_invoke_policy)
        if portfolio is not None:
            self.resource.node.add_dependency(provider.grant_portfolio_access(portfolio))
        if provider.owners_guard is not None:
            # Deleted after this resource: its product is terminated before the guard looks.
            self.resource.node.add_dependency(provider.owners_guard)

    @staticmethod
    def _properties(
        accept_language: str | None,
        polling: PollingPolicy | None,
        deadline: Duration | None,
    ) -> dict[str, Any]:
        """The custom resource's settings: only those set, every value a string."""
        properties: dict[str, Any] = {}
        if accept_language is not None:
            properties[ACCEPT_LANGUAGE] = accept_language
        if polling is not None:
            properties[POLLING_INTERVAL_SECONDS] = _number(polling.interval_seconds)
            properties[POLLING_BACKOFF_RATE] = _number(polling.backoff_rate)
            properties[POLLING_MAX_INTERVAL_SECONDS] = _number(polling.max_interval_seconds)
        if deadline is not None:
            seconds = _seconds(deadline)
            if seconds is None:
                raise ValueError(f"{DEADLINE_SECONDS}: deadline must be a concrete Duration, not a token.")
            properties[DEADLINE_SECONDS] = _number(seconds)
        return properties

    def _render_tags(self, properties: dict[str, Any], service_timeout: Duration) -> None:
        """Spec mode: `Tags` becomes the tag manager's rendering (the spec's tags and every `Tags.of`),
        checked with the handler's rules once the aspects have run (at most 50 tags, tag text)."""
        properties[TAGS] = self._tags.rendered_tags
        self.node.add_validation(
            SynthTimeCheck(lambda: self._validate({**properties, TAGS: tag_list(self._tags)}, service_timeout))
        )

    def _validate(self, properties: Mapping[str, Any], service_timeout: Duration) -> None:
        """Run the handler's own checks on every concrete value; tokens are left to deploy time.

        Raises `sc_plan_provider.properties.resource.InvalidPropertyError` (a ValueError) naming the property.
        """
        concrete = {
            name: _concrete(value, TOKEN_ARN_PLACEHOLDER if name == NOTIFICATION_ARNS else TOKEN_PLACEHOLDER)
            for name, value in properties.items()
        }
        timeout_seconds = _seconds(service_timeout)
        deadline = properties.get(DEADLINE_SECONDS)
        _check_durations(timeout_seconds, None if deadline is None else float(deadline))
        if timeout_seconds is not None:
            concrete[SERVICE_TIMEOUT] = _number(timeout_seconds)
        if DEADLINE_SECONDS in concrete and SERVICE_TIMEOUT not in concrete:
            concrete[SERVICE_TIMEOUT] = _number(MAX_SERVICE_TIMEOUT_SECONDS)
        try:
            parse_properties(concrete)
        except InvalidPropertyError as error:
            # The handler's message names the template's property; name the construct's prop first.
            named = str(error).split(" ", 1)[0]
            if named not in PROPS_BY_PROPERTY:
                raise
            raise InvalidPropertyError(f"{PROPS_BY_PROPERTY[named]}: {error}") from error

    @property
    def provisioned_product_id(self) -> str:
        """The `pp-...` id of the provisioned product (the resource's physical id, `Ref`)."""
        return self.resource.ref

    @property
    def record_id(self) -> str:
        """The id of the Service Catalog record of the last provisioning (`GetAtt RecordId`)."""
        return self.resource.get_att_string(RECORD_ID_ATTRIBUTE)

    @property
    def changes_add(self) -> str:
        """How many resources the plan adds (`GetAtt Changes.Add`, a number as a string)."""
        return self.resource.get_att_string(CHANGES_ADD)

    @property
    def changes_modify(self) -> str:
        """How many resources the plan modifies, replacements included (`GetAtt Changes.Modify`)."""
        return self.resource.get_att_string(CHANGES_MODIFY)

    @property
    def changes_remove(self) -> str:
        """How many resources the plan removes (`GetAtt Changes.Remove`)."""
        return self.resource.get_att_string(CHANGES_REMOVE)

    @property
    def changes_replace(self) -> str:
        """How many resources the plan replaces or may replace (`GetAtt Changes.Replace`: `Replacement`
        TRUE or CONDITIONAL)."""
        return self.resource.get_att_string(CHANGES_REPLACE)

    @property
    def outputs_left_out(self) -> str:
        """The attribute names of the outputs left out of the answer to fit CloudFormation's 4096
        bytes, comma-separated, "" when every output fit (`GetAtt OutputsLeftOut`): a `get_output`
        of one of them fails in the stack, and this says why there."""
        return self.resource.get_att_string(OUTPUTS_LEFT_OUT)

    def get_output(self, output_key: str) -> str:
        """One output of the provisioned product (`GetAtt Outputs.<key>`)."""
        return self.resource.get_att_string(OUTPUTS_ATTRIBUTE_PREFIX + output_key)

    @property
    def cdk_tag_manager(self) -> TagManager:
        """The provisioned product's tags (`ITaggableV2`): the spec's own and every `Tags.of` that reaches
        this construct; rendered into `Tags` in spec mode only."""
        return self._tags

    @property
    def plan_id(self) -> str | None:
        """The plan this resource executes (`PlanId`); None in spec mode."""
        return self._plan_id

    @property
    def allow_replacement(self) -> bool:
        """Whether the change gate lets replacements through (`AllowReplacement`)."""
        return self._allow_replacement

    @property
    def allow_removal(self) -> bool:
        """Whether the change gate lets removals through (`AllowRemoval`)."""
        return self._allow_removal

    def metric(self, metric_name: str, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """One of this resource's metrics (namespace `ServiceCatalogPlanExecution`, dimensions
        `service`, `StackName`, `LogicalResourceId`). Average over 5 minutes unless `statistic`/`period`
        say otherwise; `dimensions_map` replaces the resource's dimensions."""
        return metrics.resource_metric(self, self._metric_dimensions(), metric_name, cloudwatch.Stats.AVERAGE, options)

    def metric_plan_executions(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """How many plans this resource executed (`PlanExecutions`). Sum over 5 minutes."""
        return self._count(metrics.PLAN_EXECUTIONS, options)

    def metric_provisioning_failures(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """How many provisionings or updates of this resource's product failed (`ProvisioningFailures`).
        Sum over 5 minutes."""
        return self._count(metrics.PROVISIONING_FAILURES, options)

    def metric_provisioning_seconds(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """How long a provisioning or update took, in seconds (`ProvisioningSeconds`). Average over 5 minutes."""
        return self.metric(metrics.PROVISIONING_SECONDS, **options)

    def metric_terminations(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """How many times this resource's product was terminated on Delete (`Terminations`). Sum over 5 minutes."""
        return self._count(metrics.TERMINATIONS, options)

    def metric_restores(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """How many times an earlier plan or spec was re-applied, e.g. in a rollback (`Restores`).
        Sum over 5 minutes."""
        return self._count(metrics.RESTORES, options)

    def metric_continuations(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """How many times a request outlived an invocation and was handed over (`Continuations`).
        Sum over 5 minutes."""
        return self._count(metrics.CONTINUATIONS, options)

    def metric_refused_requests(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """How many requests naming this resource were refused because CloudFormation did not show them
        in progress, or its ResponseURL was not CloudFormation's (`RefusedRequests`). Sum over 5 minutes."""
        return self._count(metrics.REFUSED_REQUESTS, options)

    def metric_drifted(self, **options: Unpack[MetricOptions]) -> cloudwatch.Metric:
        """Whether this resource's product drifted from what the stack declares (`Drifted`: 1 drifted,
        0 in sync), as the provider's scheduled drift check found it (`ProviderOptions(drift_check_schedule=...)`
        on the provider that serves this resource). Maximum over 1 hour."""
        settings: MetricOptions = {"period": metrics.DRIFT_PERIOD, **options}
        return metrics.resource_metric(
            self, self._metric_dimensions(), metrics.DRIFTED, cloudwatch.Stats.MAXIMUM, settings
        )

    def alarm_on_drift(
        self,
        *,
        period: Duration | None = None,
        evaluation_periods: int = 1,
        alarm_name: str | None = None,
        alarm_description: str | None = None,
    ) -> cloudwatch.Alarm:
        """A `cloudwatch.Alarm` (child `DriftAlarm`) when the scheduled drift check finds this resource's
        product drifted (`Drifted >= 1`: MODIFIED, TAINTED, ERROR or DELETED; `sc-plan-execution drift`
        says which).
        `period` (default 1 hour) should be at least the check's interval; between checks the alarm
        keeps its state (missing data ignored). Add actions with `alarm.add_alarm_action(...)`."""
        return cloudwatch.Alarm(
            self,
            metrics.DRIFT_ALARM_ID,
            metric=self.metric_drifted(period=period or metrics.DRIFT_PERIOD),
            threshold=1,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
            alarm_name=alarm_name,
            alarm_description=alarm_description
            or f"The provisioned product of {self.node.path} drifted from what its stack declares",
        )

    def alarm_on_failures(
        self,
        *,
        threshold: float = 1,
        evaluation_periods: int = 1,
        period: Duration | None = None,
        datapoints_to_alarm: int | None = None,
        alarm_name: str | None = None,
        alarm_description: str | None = None,
        treat_missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> cloudwatch.Alarm:
        """A `cloudwatch.Alarm` (child `ProvisioningFailuresAlarm`) when this resource's provisionings
        fail: at least `threshold` `ProvisioningFailures` in `evaluation_periods` periods of `period`
        (default 5 minutes); no data is not breaching. Add actions with `alarm.add_alarm_action(...)`."""
        return metrics.failures_alarm(
            self,
            self.metric_provisioning_failures(period=period or metrics.DEFAULT_PERIOD),
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            alarm_name=alarm_name,
            alarm_description=alarm_description,
            treat_missing_data=treat_missing_data,
        )

    def _count(self, metric_name: str, options: MetricOptions) -> cloudwatch.Metric:
        return metrics.resource_metric(self, self._metric_dimensions(), metric_name, cloudwatch.Stats.SUM, options)

    def _metric_dimensions(self) -> dict[str, str]:
        cfn_resource = self.resource.node.default_child
        if not isinstance(cfn_resource, CfnResource):
            raise TypeError(f"{self.node.path}: the custom resource has no CfnResource to name its metrics by")
        return metrics.resource_dimensions(cfn_resource)
