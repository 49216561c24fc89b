"""What both ways in share: gate a plan, execute it, wait for its record, answer; report, restore, terminate.

Plan mode (plan_mode.py: a PlanId made elsewhere) and spec mode (spec_mode.py: the stack plans a
product spec) differ only in where the plan comes from. From a ready plan on, the rules are these:
a plan still to execute passes the change gate, then its product is claimed for the resource
(deputy.py), then it executes once (the token comes from the request), and the answer reports the
record's outcome and the product's outputs. Each function returns an `Answer` or raises
`ResourceFailure`; the protocol layer turns either into the one response CloudFormation gets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from sc_plan_provider.change_gate import ChangeSummary, GateDecision, decide, refusal_reason
from sc_plan_provider.deadline import Deadline
from sc_plan_provider.deputy import product_terminated, require_owner
from sc_plan_provider.errors import DeadlineExceededError, ResourceFailure
from sc_plan_provider.ownership import InProcessOwnerRegistry, OwnerRegistry
from sc_plan_provider.plan_executor import PLAN_CREATE_SUCCESS, Execution, execute_ready_plan, ready_plan
from sc_plan_provider.properties import PLAN_ID, PlanProperties
from sc_plan_provider.record_waiter import RECORD_FAILED, describe_errors, wait_for_record
from sc_plan_provider.request import PlanRequest
from sc_plan_provider.response import MAX_REASON_CHARS, answer_data
from sc_plan_provider.restore import restore_plan
from sc_plan_provider.service_catalog import NotFoundError, Plan, ServiceCatalog, ServiceCatalogError
from sc_plan_provider.telemetry import logger, metrics
from sc_plan_provider.value import Value

# A product left in one of these after a SUCCEEDED record did not get what was asked (AWS-FACTS).
FAILED_PRODUCT_STATUSES = frozenset({"TAINTED", "ERROR"})
PRODUCT_UNDER_CHANGE = "UNDER_CHANGE"
TERMINATE = "terminate"
EXECUTE = "execute"
# What a refusal tells the reader to run to see every refused change (README: the review command).
REVIEW_COMMAND = "python -m sc_plan_execution review"


class Answer(Value):
    physical_resource_id: str
    data: Mapping[str, str] = MappingProxyType({})
    no_echo: bool = False  # CloudFormation masks `data` in stack events and DescribeStackResources


class Environment:
    """What a lifecycle operation needs from outside: the Service Catalog edge and time.

    A plain class: it is built once per request, and defaults like `time.time()` must be taken then."""

    def __init__(
        self,
        service_catalog: Callable[[str | None], ServiceCatalog],
        function_deadline: Deadline,
        *,
        function_arn: str = "",  # the provider's own ARN: its account and Region are the only ones it serves
        owners: OwnerRegistry | None = None,
        first_seen: float | None = None,  # epoch seconds of the request's first arrival
        on_product: Callable[[str], None] = lambda _product_id: None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.service_catalog = service_catalog
        self.function_deadline = function_deadline
        self.function_arn = function_arn
        self.owners: OwnerRegistry = owners if owners is not None else InProcessOwnerRegistry()
        self.first_seen = first_seen if first_seen is not None else time.time()
        self.on_product = on_product
        self.sleep = sleep


def gated_plan(
    request: PlanRequest,
    properties: PlanProperties,
    plan_id: str,
    *,
    service_catalog: ServiceCatalog,
    deadline: Deadline,
    env: Environment,
    failed_id: str | None,
) -> tuple[Plan, ChangeSummary]:
    """The ready plan and its change summary; a plan still to execute must pass the change gate."""
    try:
        plan = ready_plan(service_catalog, plan_id, policy=properties.polling, deadline=deadline, sleep=env.sleep)
    except ResourceFailure as failure:
        raise ResourceFailure(failure.reason, failed_id) from failure
    return plan, pass_gate(request, properties, plan, service_catalog=service_catalog, env=env, failed_id=failed_id)


def pass_gate(
    request: PlanRequest,
    properties: PlanProperties,
    plan: Plan,
    *,
    service_catalog: ServiceCatalog,
    env: Environment,
    failed_id: str | None,
    gated: bool = True,
) -> ChangeSummary:
    """Gate a ready plan, then claim its product for the resource; the plan's change summary.

    Only a CREATE_SUCCESS plan is gated: an executed one was either executed by this request
    (a duplicate or a continuation, gated the first time) or is restored, which is never gated;
    `gated=False` is a restore planned afresh (spec mode), never gated either.
    """
    decision = gate(plan, service_catalog, properties)
    if gated and plan.status == PLAN_CREATE_SUCCESS and not decision.allowed:
        logger.warning(
            "Plan refused by the change gate",
            extra={"plan_id": plan.plan_id, "refused": [r.describe() for r in decision.refused]},
        )
        if properties.spec is None:
            subject, list_all = f"{PLAN_ID} {plan.plan_id}", f"run `{REVIEW_COMMAND} {plan.plan_id}` to list them all"
        else:  # the plan was made from the spec and is deleted after the refusal
            subject = f"The plan for ProvisionedProductName {properties.spec.provisioned_product_name}"
            list_all = "the provider function's log lists them all"
        raise ResourceFailure(
            refusal_reason(subject, decision, max_chars=MAX_REASON_CHARS, list_all=list_all), failed_id
        )
    if plan.provisioned_product_id != request.physical_resource_id:
        # Before anything changes, the plan's product must be this resource's (or become it).
        action = "provision" if plan.status == PLAN_CREATE_SUCCESS else "re-apply"
        require_owner(env.owners, plan.provisioned_product_id, request, action=action, failed_id=failed_id)
    return decision.summary


def gate(plan: Plan, service_catalog: ServiceCatalog, properties: PlanProperties) -> GateDecision:
    """The change gate's decision on every page of the plan's resource changes."""
    return decide(
        service_catalog.resource_changes(plan),
        allow_replacement=properties.allow_replacement,
        allow_removal=properties.allow_removal,
    )


def plan_summary(plan_id: str, service_catalog: ServiceCatalog) -> ChangeSummary:
    """The change summary of a plan that is only reported; a plan deleted since counts nothing."""
    try:
        plan = service_catalog.describe_plan(plan_id)
    except NotFoundError:
        logger.warning("Plan no longer exists: its change summary is reported as 0", extra={"plan_id": plan_id})
        return ChangeSummary()
    return decide(service_catalog.resource_changes(plan), allow_replacement=True, allow_removal=True).summary


def execute(request: PlanRequest, plan: Plan, service_catalog: ServiceCatalog) -> Execution:
    """Execute once: the token derives from the request and the plan, so duplicates get the same record."""
    execution = execute_ready_plan(service_catalog, plan, request.token(EXECUTE, plan.plan_id))
    metrics.add_metric(name="PlanExecutions", unit="Count", value=1)
    return execution


def restore(
    request: PlanRequest,
    plan: Plan,
    service_catalog: ServiceCatalog,
    properties: PlanProperties,
    *,
    deadline: Deadline,
    env: Environment,
    summary: ChangeSummary,
) -> Answer:
    restoration = restore_plan(
        request, plan, service_catalog, policy=properties.polling, deadline=deadline, sleep=env.sleep
    )
    if restoration.update is None:
        return current(restoration.provisioned_product_id, service_catalog, summary)
    env.on_product(restoration.provisioned_product_id)
    metrics.add_metric(name="Restores", unit="Count", value=1)
    try:
        return finish(restoration.update, service_catalog, properties, deadline=deadline, env=env, summary=summary)
    except ResourceFailure as failure:
        raise ResourceFailure(
            f"Restoring {PLAN_ID} {plan.plan_id} (UpdateProvisionedProduct with its artifact and parameters) "
            f"failed: {failure.reason}",
            failure.physical_resource_id,
        ) from failure


def finish(
    execution: Execution,
    service_catalog: ServiceCatalog,
    properties: PlanProperties,
    *,
    deadline: Deadline,
    env: Environment,
    summary: ChangeSummary,
) -> Answer:
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
    product = service_catalog.describe_product(product_id)
    if product is None or product.status in FAILED_PRODUCT_STATUSES:
        metrics.add_metric(name="ProvisioningFailures", unit="Count", value=1)
        status = "gone" if product is None else f"{product.status}: {product.status_message or 'no message'}"
        raise ResourceFailure(
            f"Service Catalog record {record.record_id} SUCCEEDED but provisioned product {product_id} is {status}",
            product_id,
        )
    outputs = service_catalog.record_outputs(record)
    return Answer(product_id, answer_data(product_id, record.record_id, outputs, summary.as_data()))


def current(product_id: str, service_catalog: ServiceCatalog, summary: ChangeSummary) -> Answer:
    """The ids and outputs of the product as it stands, without executing anything."""
    product = service_catalog.describe_product(product_id)
    if product is None:
        raise ResourceFailure(f"Provisioned product {product_id} no longer exists in Service Catalog.")
    record_id = product.last_successful_provisioning_record_id or product.last_record_id
    record = service_catalog.describe_record(record_id)
    outputs = service_catalog.record_outputs(record)
    return Answer(product_id, answer_data(product_id, record_id, outputs, summary.as_data()))


def terminate(
    request: PlanRequest,
    product_id: str,
    service_catalog: ServiceCatalog,
    *,
    properties: PlanProperties,
    deadline: Deadline,
    env: Environment,
) -> None:
    """Terminate and wait; a product that is already gone counts as terminated."""
    product = service_catalog.describe_product(product_id)
    if product is None:
        logger.info("Provisioned product already gone", extra={"provisioned_product_id": product_id})
        product_terminated(env.owners, product_id, request)
        return
    try:
        if product.status == PRODUCT_UNDER_CHANGE and product.last_record_id:
            # Terminate is refused while another record runs (e.g. a Create that ran out of time).
            wait_for_record(
                service_catalog, product.last_record_id, policy=properties.polling, deadline=deadline, sleep=env.sleep
            )
        record_id = service_catalog.terminate_product(product_id, request.token(TERMINATE, product_id))
        record = wait_for_record(
            service_catalog, record_id, policy=properties.polling, deadline=deadline, sleep=env.sleep
        )
    except NotFoundError:
        logger.info("Provisioned product already gone", extra={"provisioned_product_id": product_id})
        product_terminated(env.owners, product_id, request)
        return
    except DeadlineExceededError as error:
        raise ResourceFailure(f"Terminating provisioned product {product_id}: {error}", product_id) from error
    if record.status == RECORD_FAILED:
        raise ResourceFailure(
            f"Terminating provisioned product {product_id} FAILED (record {record_id}): {describe_errors(record)}",
            product_id,
        )
    metrics.add_metric(name="Terminations", unit="Count", value=1)
    product_terminated(env.owners, product_id, request)


def remove_failed_replacement(
    request: PlanRequest, product_id: str, service_catalog: ServiceCatalog, properties: PlanProperties, env: Environment
) -> None:
    """A failed Update that created another product leaves nothing behind: CloudFormation only
    rolls back the product in place and would never delete the new one."""
    try:
        terminate(
            request,
            product_id,
            service_catalog,
            properties=properties,
            deadline=request_deadline(properties, env),
            env=env,
        )
    except (ResourceFailure, ServiceCatalogError) as error:
        logger.error(
            "Could not remove the failed replacement product",
            extra={"provisioned_product_id": product_id, "error": str(error)},
        )


def request_deadline(properties: PlanProperties, env: Environment) -> Deadline:
    """The request's own deadline counts from its first arrival, across continuations."""
    own = Deadline.at_epoch(
        env.first_seen + properties.deadline_seconds, f"DeadlineSeconds ({properties.deadline_seconds:g} s) ran out"
    )
    return own.earliest(env.function_deadline)
