"""Applying a plan: ready, through the change gate, executed exactly once, then finished: its record
waited for, the product checked, the answer given with its outputs; and a new product the stack
will not hold removed.

Only a CREATE_SUCCESS plan can be executed. Whether a plan was executed by this request (a
duplicate delivery, a continuation, Lambda's retry), by another request, or is to be executed now
is decided from the plan's status and the provider's own records (records/owners.py: the request
that executes a plan is recorded before the call), never from the error code of a refused execute:
the real service does not document which code it answers, nor whether a repeated idempotency token
on an executed plan replays the first record (docs/facts.md#the-real-services-stricter-rules).

Both modes reach this with a plan: plan mode's from the template, spec mode's planned from the
spec; a restore reaches `finish` after re-applying a plan (restore.py). A product this resource
created that the stack will not hold (a replacement that failed, a Create that CloudFormation gave
up on) is terminated with the patience of a Delete (terminate.py), or recorded for the resource's
next request to remove. Each function returns an `Answer` or raises `ResourceFailure`; the runtime
turns either into the one response CloudFormation gets.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sc_plan_provider.core.request import PlanRequest, ResourceFailure
from sc_plan_provider.core.telemetry import logger, metrics
from sc_plan_provider.core.value import Value
from sc_plan_provider.properties.resource import PLAN_ID
from sc_plan_provider.records.ledger import request_key
from sc_plan_provider.records.owners import AppliedPlan, Owner, OwnershipUnavailableError
from sc_plan_provider.servicecatalog.calls import ServiceCatalogError
from sc_plan_provider.servicecatalog.shapes import (
    FAILED_PRODUCT_STATUSES,
    PLAN_CREATE_FAILED,
    PLAN_CREATE_SUCCESS,
    PLAN_EXECUTED_STATUSES,
    RECORD_FAILED,
    ChangeSummary,
    Plan,
    describe_errors,
)
from sc_plan_provider.servicecatalog.wait import settled_plan, settled_product, wait_for_record
from sc_plan_provider.steps.context import Answer, answer_data
from sc_plan_provider.steps.deputy import claim
from sc_plan_provider.steps.gate import GateDecision, decide
from sc_plan_provider.waiting.waiter import ContinuationNeeded, DeadlineExceededError, call_until_answered

if TYPE_CHECKING:
    from sc_plan_provider.core.request import PlanRequest
    from sc_plan_provider.properties.resource import PlanProperties
    from sc_plan_provider.servicecatalog.calls import ServiceCatalog
    from sc_plan_provider.servicecatalog.shapes import ChangeSummary, Plan
    from sc_plan_provider.steps.context import Environment
    from sc_plan_provider.waiting.deadline import Deadline
    from sc_plan_provider.waiting.policy import PollingPolicy
    from sc_plan_provider.waiting.waiter import Sleep


EXECUTE = "execute"


class Execution(Value):
    """A plan's execution (or a re-application): the record to wait for and the product it changes."""

    plan_id: str
    record_id: str
    provisioned_product_id: str


class ExecutedElsewhereError(Exception):
    """The plan was executed by another request (a plan executes once): restore it, or refuse."""

    def __init__(self, plan: Plan, applied: AppliedPlan | None) -> None:
        super().__init__(f"plan {plan.plan_id} is {plan.status}")
        self.plan = plan
        self.applied = applied


def settled(
    service_catalog: ServiceCatalog,
    plan_id: str,
    *,
    policy: PollingPolicy,
    deadline: Deadline,
    sleep: Sleep,
    new: bool = False,
) -> Plan | None:
    """The plan once it is no longer CREATE_IN_PROGRESS (None when not found); a plan still in
    progress at the deadline is a failure saying what to do."""
    try:
        return settled_plan(service_catalog, plan_id, policy=policy, deadline=deadline, sleep=sleep, new=new)
    except DeadlineExceededError as error:
        raise ResourceFailure(f"{error}: wait until the plan is CREATE_SUCCESS, then deploy again.") from error


def ready_plan(
    service_catalog: ServiceCatalog, plan_id: str, *, policy: PollingPolicy, deadline: Deadline, sleep: Sleep
) -> Plan:
    """The plan once it is no longer CREATE_IN_PROGRESS; a CREATE_FAILED or missing plan is a failure."""
    plan = settled(service_catalog, plan_id, policy=policy, deadline=deadline, sleep=sleep)
    if plan is None:
        raise ResourceFailure(not_found_reason(plan_id))
    if plan.status == PLAN_CREATE_FAILED:
        raise ResourceFailure(create_failed_reason(plan))
    return plan


def not_found_reason(plan_id: str) -> str:
    return (
        f"{PLAN_ID} {plan_id} was not found by Service Catalog: check the id and the region, and that the "
        "provider function's role has access to the plan's portfolio (construct prop 'portfolio')."
    )


def create_failed_reason(plan: Plan) -> str:
    return (
        f"{PLAN_ID} {plan.plan_id} is CREATE_FAILED: {plan.status_message or 'no status message'}. "
        "Fix the product or parameters and create a new plan."
    )


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
        from sc_plan_provider.steps.refusal import refused  # noqa: PLC0415 - a refused plan only

        raise refused(plan, decision, properties)
    return decision.summary


def decide_on(plan: Plan, service_catalog: ServiceCatalog, properties: PlanProperties) -> GateDecision:
    """The change gate's decision on every page of the plan's resource changes."""
    return decide(
        service_catalog.resource_changes(plan),
        allow_replacement=properties.allow_replacement,
        allow_removal=properties.allow_removal,
    )


def execute(
    request: PlanRequest,
    plan: Plan,
    service_catalog: ServiceCatalog,
    env: Environment,
    summary: ChangeSummary,
    *,
    failed_id: str | None,
) -> Execution:
    """Execute a ready plan for this request, or resume the execution this request already made.

    ExecutedElsewhereError when another request executed it; ResourceFailure when it cannot be
    executed (or this request may no longer act). The plan's product is claimed for the resource
    just before the execution (a product with no owner on record, even the resource's own physical
    id, is adopted then). The idempotency token derives from the request, so where the service
    replays tokens a duplicate gets the same record anyway.
    """
    product_id = plan.provisioned_product_id
    key = request_key(request)
    applied = env.applied_plan(plan.plan_id)
    mine = applied is not None and applied.executing_request == key
    if mine and applied is not None and applied.record_id:
        logger.info("Plan already executed by this request: resuming", extra={"plan_id": plan.plan_id})
        return Execution(plan.plan_id, applied.record_id, product_id)
    if plan.status in PLAN_EXECUTED_STATUSES:
        if mine:
            from sc_plan_provider.steps.recovery import own_record  # noqa: PLC0415 - a duplicate, or a killed environment

            return Execution(plan.plan_id, own_record(service_catalog, plan, env, key), product_id)
        raise ExecutedElsewhereError(plan, applied)
    if not env.may_act(request):
        raise ResourceFailure(
            f"{PLAN_ID} {plan.plan_id} was not executed: CloudFormation has moved on from this request (it was "
            "answered, or a later request for the resource arrived), so it changes nothing."
        )
    claim(request, product_id, env, action="provision", failed_id=failed_id)
    intent = AppliedPlan(
        plan_id=plan.plan_id,
        provisioned_product_id=product_id,
        version=plan.version(),
        owner=Owner.of(request),
        executing_request=key,
        summary=summary,
    )
    try:
        on_file = env.owners.intend_to_execute(intent)
    except OwnershipUnavailableError as error:
        raise ResourceFailure(
            f"Could not record the execution of {PLAN_ID} {plan.plan_id} ({error}); nothing was executed. "
            "Retry the deployment once the provider's owners table is reachable."
        ) from error
    if on_file.executing_request != key:
        raise ExecutedElsewhereError(plan, on_file)
    # Known to the answer before the call: an execution that takes effect but fails to report back
    # (no connection) must still answer with the product, so that the stack holds it.
    env.on_product(product_id)
    executed_at = time.time()
    try:
        record_id = service_catalog.execute_plan(plan.plan_id, request.token(EXECUTE, plan.plan_id))
    except ServiceCatalogError as error:
        from sc_plan_provider.steps.recovery import (  # noqa: PLC0415 - a refused execute only
            PlanNotExecutedError,
            own_record_after_refusal,
        )

        try:
            record_id = own_record_after_refusal(service_catalog, plan, env, key, error=error)
        except PlanNotExecutedError:
            env.on_product("")  # nothing was provisioned: the answer holds no product of this plan
            raise
    logger.info("Plan executed", extra={"plan_id": plan.plan_id, "record_id": record_id})
    try:
        env.owners.executed(plan.plan_id, key, record_id, executed_at)
    except OwnershipUnavailableError as error:  # the record can be found again from the product
        logger.warning("Could not record the execution's record id", extra={"error": str(error)})
    metrics.add_metric(name="PlanExecutions", unit="Count", value=1)
    return Execution(plan.plan_id, record_id, product_id)


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
    return Answer(product_id, answer_data(product_id, record, outputs, summary))


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
    product (Create or replacement) whose request CloudFormation gave up on meanwhile (a later
    request superseded it) is removed too.
    """
    product_id = execution.provisioned_product_id
    if new_product and _cleanup_started(env, request) == product_id:
        from sc_plan_provider.steps.terminate import removal_failure  # noqa: PLC0415 - a failed replacement only

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
        from sc_plan_provider.steps.terminate import removal_failure  # noqa: PLC0415 - a failed replacement only

        reason = error.reason if isinstance(error, ResourceFailure) else f"{type(error).__name__}: {error}"
        try:
            env.ledger.start_cleanup(request, product_id)
        except Exception:  # the removal below goes on regardless; only a continuation would miss it
            logger.exception("Could not record the cleanup in the request ledger")
        raise removal_failure(request, product_id, service_catalog, properties, env, why=reason) from error
    if (new_product or request.is_create) and env.superseded(request):
        from sc_plan_provider.steps.terminate import removal_failure  # noqa: PLC0415 - a superseded request only

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
