"""Create, Update and Delete of the custom resource, in Service Catalog terms.

Each returns an `Answer` or raises `ResourceFailure`; the protocol layer turns either into the
one response CloudFormation gets. A new plan passes the change gate before it executes. Rollbacks
are ordinary requests here: a rollback Update carries a plan that already ran, which is restored
(restore.py: re-applied if the product moved since, else reported), never gated or re-executed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sc_plan_provider.change_gate import ChangeSummary, GateDecision, decide, refusal_reason
from sc_plan_provider.deadline import Deadline
from sc_plan_provider.deputy import product_terminated, require_owner, require_same_home
from sc_plan_provider.errors import DeadlineExceededError, ResourceFailure
from sc_plan_provider.ownership import InProcessOwnerRegistry, OwnerRegistry
from sc_plan_provider.plan_executor import (
    PLAN_CREATE_SUCCESS,
    Execution,
    PlanAlreadyExecutedError,
    execute_ready_plan,
    ready_plan,
)
from sc_plan_provider.properties import (
    PLAN_ID,
    SERVICE_TIMEOUT,
    PlanProperties,
    default_deadline_seconds,
    ignored_properties,
    parse_properties,
)
from sc_plan_provider.property_values import InvalidPropertyError
from sc_plan_provider.record_waiter import RECORD_FAILED, describe_errors, wait_for_record
from sc_plan_provider.request import PlanRequest, is_product_id
from sc_plan_provider.response import MAX_REASON_CHARS, answer_data
from sc_plan_provider.restore import restore_plan
from sc_plan_provider.service_catalog import NotFoundError, Plan, ServiceCatalog, ServiceCatalogError
from sc_plan_provider.telemetry import logger, metrics

# A product left in one of these after a SUCCEEDED record did not get what was asked (AWS-FACTS).
FAILED_PRODUCT_STATUSES = frozenset({"TAINTED", "ERROR"})
PRODUCT_UNDER_CHANGE = "UNDER_CHANGE"
TERMINATE = "terminate"
EXECUTE = "execute"
# What a refusal tells the reader to run to see every refused change (README: the review command).
REVIEW_COMMAND = "python -m sc_plan_execution review"


@dataclass(frozen=True)
class Answer:
    physical_resource_id: str
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Environment:
    """What a lifecycle operation needs from outside: the Service Catalog edge and time."""

    service_catalog: Callable[[str | None], ServiceCatalog]
    function_deadline: Deadline
    function_arn: str = ""  # the provider's own ARN: its account and Region are the only ones it serves
    owners: OwnerRegistry = field(default_factory=InProcessOwnerRegistry)
    first_seen: float = field(default_factory=time.time)  # epoch seconds of the request's first arrival
    on_product: Callable[[str], None] = lambda _product_id: None
    sleep: Callable[[float], None] = time.sleep


def create(request: PlanRequest, env: Environment) -> Answer:
    require_same_home(request, env.function_arn, request.not_provisioned_id())
    properties = _validated(request, failed_id=request.not_provisioned_id())
    service_catalog = env.service_catalog(properties.accept_language)
    deadline = _deadline(properties, env)
    # A refused or unusable plan leaves nothing to clean up: the rollback Delete of this
    # not-provisioned id does nothing (the plan's own product stays PLAN_IN_PROGRESS, unexecuted).
    plan, summary = _gated_plan(
        request,
        properties,
        service_catalog=service_catalog,
        deadline=deadline,
        env=env,
        failed_id=request.not_provisioned_id(),
    )
    try:
        execution = _execute(request, properties, plan, service_catalog)
    except PlanAlreadyExecutedError as error:
        raise ResourceFailure(
            f"{PLAN_ID} {properties.plan_id} was already executed by another request (status "
            f"{error.plan.status}): a plan executes once. Create a new plan and deploy with its id.",
            request.not_provisioned_id(),
        ) from error
    env.on_product(execution.provisioned_product_id)
    return _finish(execution, service_catalog, properties, deadline=deadline, env=env, summary=summary)


def update(request: PlanRequest, env: Environment) -> Answer:
    require_same_home(request, env.function_arn, None)
    properties = _validated(request, failed_id=None)
    if is_product_id(request.physical_resource_id):
        require_owner(env.owners, request.physical_resource_id, request, action="update", failed_id=None)
    service_catalog = env.service_catalog(properties.accept_language)
    deadline = _deadline(properties, env)
    if properties.plan_id == request.old_properties.get(PLAN_ID):
        logger.info("PlanId unchanged: nothing to execute", extra={"plan_id": properties.plan_id})
        return _current(request.physical_resource_id, service_catalog, _summary(properties.plan_id, service_catalog))
    plan, summary = _gated_plan(
        request, properties, service_catalog=service_catalog, deadline=deadline, env=env, failed_id=None
    )
    try:
        execution = _execute(request, properties, plan, service_catalog)
    except PlanAlreadyExecutedError as error:
        # A rollback Update (or a return to an earlier plan): the product ends on that plan.
        logger.info(
            "Plan already executed: restoring its product to it",
            extra={"plan_id": properties.plan_id, "plan_status": error.plan.status},
        )
        return _restore(request, error.plan, service_catalog, properties, deadline=deadline, env=env, summary=summary)
    try:
        return _finish(execution, service_catalog, properties, deadline=deadline, env=env, summary=summary)
    except ResourceFailure as failure:
        replaced = execution.provisioned_product_id != request.physical_resource_id
        if replaced:
            _remove_failed_replacement(request, execution.provisioned_product_id, service_catalog, properties, env)
        # CloudFormation rolls back against the product in place; keep its id.
        raise ResourceFailure(failure.reason) from failure


def delete(request: PlanRequest, env: Environment) -> Answer:
    product_id = request.physical_resource_id
    if not is_product_id(product_id):
        logger.info("Physical id was never a provisioned product: nothing to delete")
        return Answer(product_id)
    require_same_home(request, env.function_arn, product_id)
    require_owner(env.owners, product_id, request, action="terminate", failed_id=product_id)
    properties = _lenient(request)
    service_catalog = env.service_catalog(properties.accept_language)
    # Deleting must succeed for the stack to end clean (it is also every rollback's cleanup), so
    # it waits as long as CloudFormation does, not just DeadlineSeconds.
    patience = default_deadline_seconds(properties.service_timeout_seconds)
    deadline = Deadline.at_epoch(env.first_seen + patience, f"ServiceTimeout ({patience:g} s) nearly ran out")
    _terminate(
        request,
        product_id,
        service_catalog,
        properties=properties,
        deadline=deadline.earliest(env.function_deadline),
        env=env,
    )
    return Answer(product_id)


def _gated_plan(
    request: PlanRequest,
    properties: PlanProperties,
    *,
    service_catalog: ServiceCatalog,
    deadline: Deadline,
    env: Environment,
    failed_id: str | None,
) -> tuple[Plan, ChangeSummary]:
    """The ready plan and its change summary; a plan still to execute must pass the change gate.

    Only a CREATE_SUCCESS plan is gated: an executed one was either executed by this request
    (a duplicate or a continuation, gated the first time) or is restored, which is never gated.
    """
    try:
        plan = ready_plan(
            service_catalog, properties.plan_id, policy=properties.polling, deadline=deadline, sleep=env.sleep
        )
    except ResourceFailure as failure:
        raise ResourceFailure(failure.reason, failed_id) from failure
    decision = gate(plan, service_catalog, properties)
    if plan.status == PLAN_CREATE_SUCCESS and not decision.allowed:
        logger.warning(
            "Plan refused by the change gate",
            extra={"plan_id": plan.plan_id, "refused": [r.describe() for r in decision.refused]},
        )
        raise ResourceFailure(
            refusal_reason(plan.plan_id, decision, max_chars=MAX_REASON_CHARS, review_command=REVIEW_COMMAND),
            failed_id,
        )
    if plan.provisioned_product_id != request.physical_resource_id:
        # Before anything changes, the plan's product must be this resource's (or become it).
        action = "provision" if plan.status == PLAN_CREATE_SUCCESS else "re-apply"
        require_owner(env.owners, plan.provisioned_product_id, request, action=action, failed_id=failed_id)
    return plan, decision.summary


def gate(plan: Plan, service_catalog: ServiceCatalog, properties: PlanProperties) -> GateDecision:
    """The change gate's decision on every page of the plan's resource changes."""
    return decide(
        service_catalog.resource_changes(plan),
        allow_replacement=properties.allow_replacement,
        allow_removal=properties.allow_removal,
    )


def _summary(plan_id: str, service_catalog: ServiceCatalog) -> ChangeSummary:
    """The change summary of a plan that is only reported; a plan deleted since counts nothing."""
    try:
        plan = service_catalog.describe_plan(plan_id)
    except NotFoundError:
        logger.warning("Plan no longer exists: its change summary is reported as 0", extra={"plan_id": plan_id})
        return ChangeSummary()
    return decide(service_catalog.resource_changes(plan), allow_replacement=True, allow_removal=True).summary


def _execute(
    request: PlanRequest, properties: PlanProperties, plan: Plan, service_catalog: ServiceCatalog
) -> Execution:
    execution = execute_ready_plan(service_catalog, plan, request.token(EXECUTE, properties.plan_id))
    metrics.add_metric(name="PlanExecutions", unit="Count", value=1)
    return execution


def _restore(
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
        return _current(restoration.provisioned_product_id, service_catalog, summary)
    env.on_product(restoration.provisioned_product_id)
    metrics.add_metric(name="Restores", unit="Count", value=1)
    try:
        return _finish(restoration.update, service_catalog, properties, deadline=deadline, env=env, summary=summary)
    except ResourceFailure as failure:
        raise ResourceFailure(
            f"Restoring {PLAN_ID} {plan.plan_id} (UpdateProvisionedProduct with its artifact and parameters) "
            f"failed: {failure.reason}",
            failure.physical_resource_id,
        ) from failure


def _finish(
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


def _current(product_id: str, service_catalog: ServiceCatalog, summary: ChangeSummary) -> Answer:
    """The ids and outputs of the product as it stands, without executing anything."""
    product = service_catalog.describe_product(product_id)
    if product is None:
        raise ResourceFailure(f"Provisioned product {product_id} no longer exists in Service Catalog.")
    record_id = product.last_successful_provisioning_record_id or product.last_record_id
    record = service_catalog.describe_record(record_id)
    outputs = service_catalog.record_outputs(record)
    return Answer(product_id, answer_data(product_id, record_id, outputs, summary.as_data()))


def _terminate(
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


def _remove_failed_replacement(
    request: PlanRequest, product_id: str, service_catalog: ServiceCatalog, properties: PlanProperties, env: Environment
) -> None:
    """A failed Update that created another product leaves nothing behind: CloudFormation only
    rolls back the product in place and would never delete the new one."""
    try:
        _terminate(
            request, product_id, service_catalog, properties=properties, deadline=_deadline(properties, env), env=env
        )
    except (ResourceFailure, ServiceCatalogError) as error:
        logger.error(
            "Could not remove the failed replacement product",
            extra={"provisioned_product_id": product_id, "error": str(error)},
        )


def _validated(request: PlanRequest, failed_id: str | None) -> PlanProperties:
    ignored = ignored_properties(request.properties)
    if ignored:
        logger.warning("Properties ignored: the provider does not read them", extra={"ignored": ignored})
    try:
        return parse_properties(request.properties)
    except InvalidPropertyError as error:
        raise ResourceFailure(str(error), failed_id) from error


def _lenient(request: PlanRequest) -> PlanProperties:
    """Delete must not be blocked by properties that no longer validate: fall back to defaults."""
    try:
        return parse_properties(request.properties)
    except InvalidPropertyError:
        return parse_properties({PLAN_ID: "unused-on-delete", SERVICE_TIMEOUT: request.properties.get(SERVICE_TIMEOUT)})


def _deadline(properties: PlanProperties, env: Environment) -> Deadline:
    """The request's own deadline counts from its first arrival, across continuations."""
    own = Deadline.at_epoch(
        env.first_seen + properties.deadline_seconds, f"DeadlineSeconds ({properties.deadline_seconds:g} s) ran out"
    )
    return own.earliest(env.function_deadline)
