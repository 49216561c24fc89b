"""What both ways in share: gate a plan, execute it once, wait for its record, answer; report,
restore, terminate, and remove what a failed change left behind.

Plan mode (plan_mode.py: a PlanId made elsewhere) and spec mode (spec_mode.py: the stack plans a
product spec) differ only in where the plan comes from. From a ready plan on, the rules are these:
a plan still to execute passes the change gate, then its product is claimed for the resource
(deputy.py), then it executes once (plan_executor.py), and the answer reports the record's
outcome and the product's outputs. A product this resource created that the stack will not hold
(a replacement that failed, a Create that CloudFormation gave up on) is terminated with the
patience of a Delete, or recorded for the resource's next request to remove. Each function
returns an `Answer` or raises `ResourceFailure`; the protocol layer turns either into the one
response CloudFormation gets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from sc_plan_provider.core.errors import ContinuationNeeded, DeadlineExceededError, ResourceFailure
from sc_plan_provider.core.request import PlanRequest
from sc_plan_provider.core.telemetry import logger, metrics
from sc_plan_provider.core.value import Value
from sc_plan_provider.properties.resource import PLAN_ID, PlanProperties, default_deadline_seconds
from sc_plan_provider.records.ledger import request_key
from sc_plan_provider.records.owners import (
    AppliedPlan,
    Owner,
    OwnershipUnavailableError,
)
from sc_plan_provider.runtime.response import answer_data
from sc_plan_provider.servicecatalog.calls import Plan, ServiceCatalog
from sc_plan_provider.servicecatalog.wait import RECORD_FAILED, describe_errors, wait_for_record
from sc_plan_provider.steps.deputy import require_owner
from sc_plan_provider.steps.execute import PLAN_CREATE_SUCCESS, Execution, execute_once
from sc_plan_provider.steps.gate import ChangeSummary, GateDecision, decide
from sc_plan_provider.waiting.deadline import Deadline
from sc_plan_provider.waiting.visibility import settled_product
from sc_plan_provider.waiting.waiter import call_until_answered

if TYPE_CHECKING:
    from sc_plan_provider.records.ports import Ledger, OwnerRegistry

# A product left in one of these after a SUCCEEDED record did not get what was asked (AWS-FACTS).
FAILED_PRODUCT_STATUSES = frozenset({"TAINTED", "ERROR"})
EXECUTE = "execute"


class Answer(Value):
    physical_resource_id: str
    data: Mapping[str, str] = MappingProxyType({})
    no_echo: bool = False  # CloudFormation masks `data` in stack events and DescribeStackResources


class Environment:
    """What a lifecycle operation needs from outside: the Service Catalog edge, records and time.

    A plain class: it is built once per request, and defaults like `time.time()` must be taken then."""

    def __init__(
        self,
        service_catalog: Callable[[str | None], ServiceCatalog],
        function_deadline: Deadline,
        *,
        function_arn: str = "",  # the provider's own ARN: its account and Region are the only ones it serves
        owners: OwnerRegistry | None = None,
        ledger: Ledger | None = None,
        first_seen: float | None = None,  # epoch seconds of the request's first arrival
        on_product: Callable[[str], None] = lambda _product_id: None,
        may_act: Callable[[PlanRequest], bool] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.service_catalog = service_catalog
        self.function_deadline = function_deadline
        self.function_arn = function_arn
        if owners is None or ledger is None:
            from sc_plan_provider.records.in_process import InProcessLedger, InProcessOwnerRegistry

            owners = owners if owners is not None else InProcessOwnerRegistry()
            ledger = ledger if ledger is not None else InProcessLedger()
        self.owners: OwnerRegistry = owners
        self.ledger: Ledger = ledger
        self.first_seen = first_seen if first_seen is not None else time.time()
        self.on_product = on_product
        self._may_act = may_act
        self.sleep = sleep
        self.new_claims: list[str] = []  # products this request claimed (released if it fails without them)
        self.abandoned: set[str] = set()  # products this request created but could not remove (claims kept)

    def may_act(self, request: PlanRequest) -> bool:
        """Whether the request may still change anything: not answered, not superseded."""
        if self._may_act is not None:
            return self._may_act(request)
        return self.ledger.may_act(request)

    def superseded(self, request: PlanRequest) -> bool:
        """Whether CloudFormation moved on from the request (a later request of the resource arrived);
        an answer sent meanwhile (by a duplicate delivery) is no reason to undo anything."""
        try:
            return self.ledger.superseded(request)
        except Exception:  # without the ledger nothing can be known: keep what was done
            logger.exception("Request ledger unavailable; not checking for a later request")
            return False


def gate(
    request: PlanRequest, properties: PlanProperties, plan: Plan, service_catalog: ServiceCatalog, *, gated: bool
) -> ChangeSummary:
    """The plan's change summary; a CREATE_SUCCESS plan the gate refuses is a ResourceFailure.

    Only a plan still to execute is gated: an executed one was either executed by this request (a
    duplicate or a continuation, gated the first time) or is restored, which is never gated;
    `gated=False` is a restore planned afresh (spec mode), never gated either.
    """
    decision = decide_on(plan, service_catalog, properties)
    if gated and plan.status == PLAN_CREATE_SUCCESS and not decision.allowed:
        from sc_plan_provider.steps.refusal import refused  # a refused plan only

        raise refused(plan, decision, properties)
    return decision.summary


def decide_on(plan: Plan, service_catalog: ServiceCatalog, properties: PlanProperties) -> GateDecision:
    """The change gate's decision on every page of the plan's resource changes."""
    return decide(
        service_catalog.resource_changes(plan),
        allow_replacement=properties.allow_replacement,
        allow_removal=properties.allow_removal,
    )


def claim(request: PlanRequest, product_id: str, env: Environment, *, action: str, failed_id: str | None) -> None:
    """Claim the product for the resource about to act on it (deputy.py); remembered so that a
    request that then fails without the product gives a new claim back (`release_new_claims`)."""
    if require_owner(env.owners, product_id, request, action=action, failed_id=failed_id):
        env.new_claims.append(product_id)


def execute(
    request: PlanRequest,
    plan: Plan,
    service_catalog: ServiceCatalog,
    env: Environment,
    summary: ChangeSummary,
    *,
    failed_id: str | None,
) -> Execution:
    """Execute once for this request (or resume its execution); ExecutedElsewhereError otherwise.

    The plan's product is claimed for the resource just before the execution (a product with no
    owner on record, even the resource's own physical id, is adopted then)."""

    def claim_product() -> None:
        claim(request, plan.provisioned_product_id, env, action="provision", failed_id=failed_id)

    execution = execute_once(
        service_catalog,
        plan,
        records=env.owners,
        owner=Owner.of(request),
        request_key=request_key(request),
        token=request.token(EXECUTE, plan.plan_id),
        summary=summary,
        may_act=lambda: env.may_act(request),
        claim=claim_product,
        sleep=env.sleep,
    )
    metrics.add_metric(name="PlanExecutions", unit="Count", value=1)
    return execution


def finish(
    execution: Execution,
    service_catalog: ServiceCatalog,
    properties: PlanProperties,
    *,
    deadline: Deadline,
    env: Environment,
    summary: ChangeSummary,
) -> Answer:
    """Wait for the execution's record and report the product; any failure names the product."""
    product_id = execution.provisioned_product_id
    started = time.monotonic()
    try:
        record = wait_for_record(
            service_catalog,
            execution.record_id,
            policy=properties.polling,
            deadline=deadline,
            sleep=env.sleep,
            learn=properties.learned_polling,
        )
    except DeadlineExceededError as error:
        metrics.add_metric(name="ProvisioningFailures", unit="Count", value=1)
        raise ResourceFailure(
            f"{error} (provisioned product {product_id}); Service Catalog goes on with it. Raise "
            "DeadlineSeconds/ServiceTimeout for longer provisioning.",
            product_id,
        ) from error
    metrics.add_metric(name="ProvisioningSeconds", unit="Seconds", value=time.monotonic() - started)
    if record.status == RECORD_FAILED:
        metrics.add_metric(name="ProvisioningFailures", unit="Count", value=1)
        raise ResourceFailure(
            f"Service Catalog record {record.record_id} FAILED for provisioned product {product_id}: "
            f"{describe_errors(record)}",
            product_id,
        )
    product = call_until_answered(
        lambda: settled_product(service_catalog, product_id, after_record=record.record_id, sleep=env.sleep),
        what=f"provisioned product {product_id}",
        deadline=deadline,
        sleep=env.sleep,
    )
    if product is None or product.status in FAILED_PRODUCT_STATUSES:
        metrics.add_metric(name="ProvisioningFailures", unit="Count", value=1)
        status = "gone" if product is None else f"{product.status}: {product.status_message or 'no message'}"
        raise ResourceFailure(
            f"Service Catalog record {record.record_id} SUCCEEDED but provisioned product {product_id} is {status}",
            product_id,
        )
    outputs = call_until_answered(
        lambda: service_catalog.record_outputs(record),
        what=f"the outputs of record {record.record_id}",
        deadline=deadline,
        sleep=env.sleep,
    )
    return Answer(product_id, answer_data(product_id, record, outputs, summary.as_data()))


def finish_or_remove(
    request: PlanRequest,
    execution: Execution,
    service_catalog: ServiceCatalog,
    properties: PlanProperties,
    *,
    deadline: Deadline,
    env: Environment,
    summary: ChangeSummary,
    new_product: bool,
) -> Answer:
    """Finish an execution; a new product this request made and the stack will not hold is removed.

    `new_product` is an Update's execution against another product (a replacement): if anything
    goes wrong after the execution, CloudFormation keeps the old physical id and would never
    delete the new product, so it is terminated here with a Delete's patience (through
    continuations; the ledger remembers the cleanup), and the answer keeps the old id. A new
    product (Create or replacement) whose request CloudFormation gave up on meanwhile is removed too.
    """
    product_id = execution.provisioned_product_id
    if new_product and _cleanup_started(env, request) == product_id:
        from sc_plan_provider.steps.terminate import removal_failure

        raise removal_failure(
            request, product_id, service_catalog, properties, env, why="the replacement failed earlier"
        )
    try:
        answer = finish(execution, service_catalog, properties, deadline=deadline, env=env, summary=summary)
    except ContinuationNeeded:
        raise
    except Exception as error:
        if not new_product:
            raise
        from sc_plan_provider.steps.terminate import removal_failure

        reason = error.reason if isinstance(error, ResourceFailure) else f"{type(error).__name__}: {error}"
        try:
            env.ledger.start_cleanup(request, product_id)
        except Exception:  # the removal below goes on regardless; only a continuation would miss it
            logger.exception("Could not record the cleanup in the request ledger")
        raise removal_failure(request, product_id, service_catalog, properties, env, why=reason) from error
    if (new_product or is_create(request)) and env.superseded(request):
        from sc_plan_provider.steps.terminate import removal_failure

        logger.warning("Request superseded after its execution: removing the product it created")
        raise removal_failure(
            request, product_id, service_catalog, properties, env, why="CloudFormation moved on from this request"
        )
    return answer


def _cleanup_started(env: Environment, request: PlanRequest) -> str | None:
    """The new product an earlier invocation of this request began to remove; None when unknown
    (the ledger unreadable): the execution is then finished, and removed if anything goes wrong."""
    try:
        return env.ledger.cleanup_of(request)
    except Exception:
        logger.exception("Request ledger unavailable; not checking for a cleanup under way")
        return None


def is_create(request: PlanRequest) -> bool:
    return request.request_type == "Create"


def applied_plan_record(env: Environment, plan_id: str) -> AppliedPlan | None:
    try:
        return env.owners.applied_plan(plan_id)
    except OwnershipUnavailableError as error:
        raise ResourceFailure(
            f"Could not read the provider's record of {PLAN_ID} {plan_id} ({error}); nothing was changed. "
            "Retry the deployment once the provider's owners table is reachable."
        ) from error


def request_deadline(properties: PlanProperties, env: Environment) -> Deadline:
    """The request's own deadline counts from its first arrival, across continuations."""
    own = Deadline.at_epoch(env.first_seen + properties.deadline_seconds, properties.deadline_reason())
    return own.earliest(env.function_deadline)


def patience_deadline(properties: PlanProperties, env: Environment) -> Deadline:
    """A Delete's patience: as long as CloudFormation waits (ServiceTimeout less a margin to answer),
    whatever DeadlineSeconds says, across continuations: cleanups must not fail for a short deadline."""
    patience = default_deadline_seconds(properties.service_timeout_seconds)
    own = Deadline.at_epoch(env.first_seen + patience, f"ServiceTimeout ({patience:g} s) nearly ran out")
    return own.earliest(env.function_deadline)
