"""Plan status function and executor: waits for a plan to be ready, then executes it once.

Only a CREATE_SUCCESS plan can be executed. The idempotency token comes from the request, so a
duplicate delivery gets the record of the first execution back, whatever the plan's status now.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sc_plan_provider.deadline import Deadline
from sc_plan_provider.errors import DeadlineExceededError, ResourceFailure
from sc_plan_provider.polling_policy import PollingPolicy
from sc_plan_provider.service_catalog import InvalidStateError, NotFoundError, Plan, ServiceCatalog
from sc_plan_provider.telemetry import logger
from sc_plan_provider.value import Value
from sc_plan_provider.waiter import wait_until

PLAN_CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
PLAN_CREATE_FAILED = "CREATE_FAILED"
PLAN_CREATE_SUCCESS = "CREATE_SUCCESS"
PLAN_EXECUTED_STATUSES = frozenset({"EXECUTE_IN_PROGRESS", "EXECUTE_SUCCESS", "EXECUTE_FAILED"})


class Execution(Value):
    """A plan's execution: the record to wait for and the product it changes."""

    plan_id: str
    record_id: str
    provisioned_product_id: str


class PlanAlreadyExecutedError(Exception):
    """The plan was executed by another request (a plan executes once)."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(f"plan {plan.plan_id} is {plan.status}")
        self.plan = plan


def execute_ready_plan(service_catalog: ServiceCatalog, plan: Plan, idempotency_token: str) -> Execution:
    """Execute a plan that `ready_plan` returned; PlanAlreadyExecutedError if another request did."""
    plan_id = plan.plan_id
    try:
        record_id = service_catalog.execute_plan(plan_id, idempotency_token)
    except InvalidStateError as error:
        plan = service_catalog.describe_plan(plan_id)
        if plan.status in PLAN_EXECUTED_STATUSES:
            raise PlanAlreadyExecutedError(plan) from error
        raise ResourceFailure(f"PlanId {plan_id} cannot be executed (status {plan.status}): {error}") from error
    logger.info("Plan executed", extra={"plan_id": plan_id, "record_id": record_id})
    return Execution(plan_id, record_id, plan.provisioned_product_id)


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
    if plan.status == PLAN_CREATE_FAILED:
        raise ResourceFailure(
            f"PlanId {plan_id} is CREATE_FAILED: {plan.status_message or 'no status message'}. "
            "Fix the product or parameters and create a new plan."
        )
    return plan


def settled_plan(
    service_catalog: ServiceCatalog,
    plan_id: str,
    *,
    policy: PollingPolicy,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
) -> Plan:
    """The plan once it is no longer CREATE_IN_PROGRESS, whatever it became (CREATE_FAILED too)."""
    try:
        return wait_until(
            lambda: service_catalog.describe_plan(plan_id),
            lambda plan: plan.status != PLAN_CREATE_IN_PROGRESS,
            describe=lambda plan: plan.status,
            what=f"PlanId {plan_id}",
            policy=policy,
            deadline=deadline,
            sleep=sleep,
        )
    except NotFoundError as error:
        raise ResourceFailure(
            f"PlanId {plan_id} was not found by Service Catalog: check the id and the region, and that the "
            "provider function's role has access to the plan's portfolio (construct prop 'portfolio')."
        ) from error
    except DeadlineExceededError as error:
        raise ResourceFailure(f"{error}: wait until the plan is CREATE_SUCCESS, then deploy again.") from error
