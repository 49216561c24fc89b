"""Plan status function and executor: waits for a plan to be ready, then executes it exactly once.

Only a CREATE_SUCCESS plan can be executed. Whether a plan was executed by this request (a
duplicate delivery, a continuation, Lambda's retry), by another request, or is to be executed now
is decided from the plan's status and the provider's own records (ownership.py: the request that
executes a plan is recorded before the call), never from the error code of a refused execute:
the real service does not document which code it answers, nor whether a repeated idempotency
token on an executed plan replays the first record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sc_plan_provider.core.errors import DeadlineExceededError, ResourceFailure
from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.core.value import Value
from sc_plan_provider.records.owners import AppliedPlan, Owner, OwnershipUnavailableError
from sc_plan_provider.servicecatalog.calls import (
    NotFoundError,
    Plan,
    ServiceCatalog,
    ServiceCatalogError,
)
from sc_plan_provider.steps.gate import ChangeSummary
from sc_plan_provider.waiting.deadline import Deadline
from sc_plan_provider.waiting.policy import PollingPolicy
from sc_plan_provider.waiting.visibility import NotVisibleYetError
from sc_plan_provider.waiting.waiter import wait_until

if TYPE_CHECKING:
    from sc_plan_provider.records.ports import OwnerRegistry

PLAN_CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
PLAN_CREATE_FAILED = "CREATE_FAILED"
PLAN_CREATE_SUCCESS = "CREATE_SUCCESS"
PLAN_EXECUTED_STATUSES = frozenset({"EXECUTE_IN_PROGRESS", "EXECUTE_SUCCESS", "EXECUTE_FAILED"})
# A plan that was just created may not be visible yet for this long (eventual consistency); a
# plan id from the template is looked for this long before it counts as not found.
NEW_PLAN_VISIBILITY_SECONDS = 30.0
PLAN_VISIBILITY_SECONDS = 2.0
# ...and by at least this many reads: under throttling one read alone can outlast the window.
PLAN_NOT_FOUND_READS = 3
# How long a duplicate of this request may take to record the record id of its execution.
RECORD_ID_WAIT_SECONDS = 5.0


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


def execute_once(
    service_catalog: ServiceCatalog,
    plan: Plan,
    *,
    records: OwnerRegistry,
    owner: Owner,
    request_key: str,
    token: str,
    summary: ChangeSummary,
    may_act: Callable[[], bool],
    claim: Callable[[], None],
    sleep: Callable[[float], None] = time.sleep,
) -> Execution:
    """Execute a ready plan for this request, or resume the execution this request already made.

    ExecutedElsewhereError when another request executed it; ResourceFailure when it cannot be
    executed (or this request may no longer act). `claim` takes the product for the resource (the
    deputy) and runs only when this request is about to execute. The idempotency token derives
    from the request, so where the service replays tokens a duplicate gets the same record anyway.
    """
    product_id = plan.provisioned_product_id
    applied = applied_record(records, plan.plan_id)
    mine = applied is not None and applied.executing_request == request_key
    if mine and applied is not None and applied.record_id:
        logger.info("Plan already executed by this request: resuming", extra={"plan_id": plan.plan_id})
        return Execution(plan.plan_id, applied.record_id, product_id)
    if plan.status in PLAN_EXECUTED_STATUSES:
        if mine:
            from sc_plan_provider.steps.recovery import own_record  # a duplicate, or a killed environment

            return Execution(plan.plan_id, own_record(service_catalog, plan, records, request_key, sleep), product_id)
        raise ExecutedElsewhereError(plan, applied)
    if not may_act():
        raise ResourceFailure(_no_longer_acting(plan.plan_id))
    claim()
    intent = AppliedPlan(
        plan_id=plan.plan_id,
        provisioned_product_id=product_id,
        version=plan.version(),
        owner=owner,
        executing_request=request_key,
        summary=summary,
    )
    try:
        on_file = records.intend_to_execute(intent)
    except OwnershipUnavailableError as error:
        raise ResourceFailure(
            f"Could not record the execution of PlanId {plan.plan_id} ({error}); nothing was executed. "
            "Retry the deployment once the provider's owners table is reachable."
        ) from error
    if on_file.executing_request != request_key:
        raise ExecutedElsewhereError(plan, on_file)
    executed_at = time.time()
    try:
        record_id = service_catalog.execute_plan(plan.plan_id, token)
    except ServiceCatalogError as error:
        from sc_plan_provider.steps.recovery import own_record_after_refusal  # a refused execute only

        record_id = own_record_after_refusal(service_catalog, plan, records, request_key, error=error, sleep=sleep)
    logger.info("Plan executed", extra={"plan_id": plan.plan_id, "record_id": record_id})
    try:
        records.executed(plan.plan_id, request_key, record_id, executed_at)
    except OwnershipUnavailableError as error:  # the record can be found again from the product
        logger.warning("Could not record the execution's record id", extra={"error": str(error)})
    return Execution(plan.plan_id, record_id, product_id)


def applied_record(records: OwnerRegistry, plan_id: str) -> AppliedPlan | None:
    try:
        return records.applied_plan(plan_id)
    except OwnershipUnavailableError as error:
        raise ResourceFailure(
            f"Could not read the provider's record of PlanId {plan_id} ({error}); nothing was changed. "
            "Retry the deployment once the provider's owners table is reachable."
        ) from error


def _no_longer_acting(plan_id: str) -> str:
    return (
        f"PlanId {plan_id} was not executed: CloudFormation has moved on from this request (it was answered, "
        "or a later request for the resource arrived), so it changes nothing."
    )


def ready_plan(
    service_catalog: ServiceCatalog,
    plan_id: str,
    *,
    policy: PollingPolicy,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
) -> Plan:
    """The plan once it is no longer CREATE_IN_PROGRESS; a CREATE_FAILED or missing plan is a failure."""
    plan = settled_plan(service_catalog, plan_id, policy=policy, deadline=deadline, sleep=sleep)
    if plan is None:
        raise ResourceFailure(not_found_reason(plan_id))
    if plan.status == PLAN_CREATE_FAILED:
        raise ResourceFailure(
            f"PlanId {plan_id} is CREATE_FAILED: {plan.status_message or 'no status message'}. "
            "Fix the product or parameters and create a new plan."
        )
    return plan


def not_found_reason(plan_id: str) -> str:
    return (
        f"PlanId {plan_id} was not found by Service Catalog: check the id and the region, and that the "
        "provider function's role has access to the plan's portfolio (construct prop 'portfolio')."
    )


def settled_plan(
    service_catalog: ServiceCatalog,
    plan_id: str,
    *,
    policy: PollingPolicy,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
    new: bool = False,
) -> Plan | None:
    """The plan once it is no longer CREATE_IN_PROGRESS, whatever it became; None when not found.

    A plan is looked for a while before it counts as not found (eventual consistency), one the
    provider just created (`new`) for longer.
    """
    visible_after = time.monotonic() + (NEW_PLAN_VISIBILITY_SECONDS if new else PLAN_VISIBILITY_SECONDS)
    misses = 0

    def poll() -> Plan:
        nonlocal misses
        try:
            return service_catalog.describe_plan(plan_id)
        except NotFoundError as error:
            misses += 1
            if time.monotonic() < visible_after or misses < PLAN_NOT_FOUND_READS:
                raise NotVisibleYetError(str(error)) from error
            raise

    try:
        return wait_until(
            poll,
            lambda plan: plan.status != PLAN_CREATE_IN_PROGRESS,
            describe=lambda plan: plan.status,
            what=f"PlanId {plan_id}",
            policy=policy,
            deadline=deadline,
            sleep=sleep,
        )
    except NotFoundError:
        return None
    except DeadlineExceededError as error:
        raise ResourceFailure(f"{error}: wait until the plan is CREATE_SUCCESS, then deploy again.") from error
