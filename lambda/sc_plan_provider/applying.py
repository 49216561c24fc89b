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

from sc_plan_provider.change_gate import ChangeSummary, GateDecision, decide, refusal_reason
from sc_plan_provider.deadline import Deadline
from sc_plan_provider.deputy import product_terminated, require_owner
from sc_plan_provider.errors import ContinuationNeeded, DeadlineExceededError, ResourceFailure
from sc_plan_provider.ownership import (
    AppliedPlan,
    InProcessOwnerRegistry,
    Owner,
    OwnerRegistry,
    OwnershipUnavailableError,
)
from sc_plan_provider.plan_executor import PLAN_CREATE_SUCCESS, Execution, execute_once
from sc_plan_provider.properties import PLAN_ID, PlanProperties, default_deadline_seconds
from sc_plan_provider.record_waiter import RECORD_FAILED, describe_errors, wait_for_record
from sc_plan_provider.request import PlanRequest
from sc_plan_provider.request_ledger import InProcessLedger, Ledger, request_key
from sc_plan_provider.response import MAX_REASON_CHARS, answer_data
from sc_plan_provider.restore import RestorePoint, restore_plan
from sc_plan_provider.service_catalog import InvalidStateError, NotFoundError, Plan, Record, ServiceCatalog
from sc_plan_provider.telemetry import logger, metrics
from sc_plan_provider.value import Value
from sc_plan_provider.visibility import product_gone, visible_product
from sc_plan_provider.waiter import call_until_answered

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
        self.owners: OwnerRegistry = owners if owners is not None else InProcessOwnerRegistry()
        self.ledger: Ledger = ledger if ledger is not None else InProcessLedger()
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
        logger.warning(
            "Plan refused by the change gate",
            extra={"plan_id": plan.plan_id, "refused": [r.describe() for r in decision.refused]},
        )
        if properties.spec is None:
            subject, list_all = f"{PLAN_ID} {plan.plan_id}", f"run `{REVIEW_COMMAND} {plan.plan_id}` to list them all"
        else:  # the plan was made from the spec and is deleted after the refusal
            subject = f"The plan for ProvisionedProductName {properties.spec.provisioned_product_name}"
            list_all = "the provider function's log lists them all"
        raise ResourceFailure(refusal_reason(subject, decision, max_chars=MAX_REASON_CHARS, list_all=list_all))
    return decision.summary


def decide_on(plan: Plan, service_catalog: ServiceCatalog, properties: PlanProperties) -> GateDecision:
    """The change gate's decision on every page of the plan's resource changes."""
    return decide(
        service_catalog.resource_changes(plan),
        allow_replacement=properties.allow_replacement,
        allow_removal=properties.allow_removal,
    )


def plan_summary(plan_id: str, service_catalog: ServiceCatalog, env: Environment) -> ChangeSummary:
    """The change summary of a plan that is only reported: from the plan, else from the provider's
    record of it; a plan the provider knows nothing of any more counts nothing."""
    try:
        plan = service_catalog.describe_plan(plan_id)
    except NotFoundError:
        applied = _applied_plan(env, plan_id)
        if applied is not None:
            return applied.summary
        logger.warning("Plan no longer exists: its change summary is reported as 0", extra={"plan_id": plan_id})
        return ChangeSummary()
    return decide(service_catalog.resource_changes(plan), allow_replacement=True, allow_removal=True).summary


def claim(request: PlanRequest, product_id: str, env: Environment, *, action: str, failed_id: str | None) -> None:
    """Claim the product for the resource about to act on it (deputy.py); remembered so that a
    request that then fails without the product gives a new claim back (`release_new_claims`)."""
    if require_owner(env.owners, product_id, request, action=action, failed_id=failed_id):
        env.new_claims.append(product_id)


def release_new_claims(request: PlanRequest, env: Environment, keep: str | None) -> None:
    """A failed request never takes ownership: forget the owners it recorded, except of `keep`
    (the failed answer's physical id: the product the stack now holds) and of products this request
    created but could not remove (the resource's next request removes them: `remove_abandoned`)."""
    owner = Owner.of(request)
    for product_id in env.new_claims:
        if product_id == keep or product_id in env.abandoned:
            continue
        try:
            env.owners.release(product_id, owner, request_key(request))
        except OwnershipUnavailableError as error:
            logger.warning("Could not give back a claim", extra={"product": product_id, "error": str(error)})
    env.new_claims.clear()


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

    The plan's product is claimed for the resource just before the execution, unless it is the
    resource's own product already (its physical id)."""

    def claim_product() -> None:
        if plan.provisioned_product_id != request.physical_resource_id:
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


def restore_point(plan_id: str, plan: Plan | None, env: Environment) -> RestorePoint | None:
    """Where an executed plan put its product: the provider's record of it, else the plan itself."""
    applied = _applied_plan(env, plan_id)
    if applied is not None:
        return RestorePoint(
            plan_id, applied.provisioned_product_id, applied.version, applied.record_id, applied.executed_at
        )
    if plan is not None:
        return RestorePoint(plan_id, plan.provisioned_product_id, plan.version(), executed_at=plan.updated_time)
    return None


def restore(
    request: PlanRequest,
    point: RestorePoint,
    service_catalog: ServiceCatalog,
    properties: PlanProperties,
    *,
    deadline: Deadline,
    env: Environment,
    summary: ChangeSummary,
) -> Answer:
    if point.provisioned_product_id != request.physical_resource_id:
        claim(request, point.provisioned_product_id, env, action="re-apply", failed_id=None)
    restoration = restore_plan(
        request,
        point,
        service_catalog,
        policy=properties.polling,
        deadline=deadline,
        may_act=lambda: env.may_act(request),
        sleep=env.sleep,
    )
    if restoration.update is None:
        return current(restoration.provisioned_product_id, service_catalog, summary, env=env, deadline=deadline)
    env.on_product(restoration.provisioned_product_id)
    metrics.add_metric(name="Restores", unit="Count", value=1)
    try:
        return finish(restoration.update, service_catalog, properties, deadline=deadline, env=env, summary=summary)
    except ResourceFailure as failure:
        raise ResourceFailure(
            f"Restoring {PLAN_ID} {point.plan_id} (UpdateProvisionedProduct with its artifact and parameters) "
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
        lambda: visible_product(service_catalog, product_id, sleep=env.sleep),
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
    return Answer(product_id, answer_data(product_id, record.record_id, outputs, summary.as_data()))


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
    if new_product and env.ledger.cleanup_of(request) == product_id:
        raise _removed(request, product_id, service_catalog, properties, env, why="the replacement failed earlier")
    try:
        answer = finish(execution, service_catalog, properties, deadline=deadline, env=env, summary=summary)
    except ContinuationNeeded:
        raise
    except Exception as error:
        if not new_product:
            raise
        reason = error.reason if isinstance(error, ResourceFailure) else f"{type(error).__name__}: {error}"
        env.ledger.start_cleanup(request, product_id)
        raise _removed(request, product_id, service_catalog, properties, env, why=reason) from error
    if not env.may_act(request) and (new_product or is_create(request)):
        logger.warning("Request superseded after its execution: removing the product it created")
        raise _removed(
            request, product_id, service_catalog, properties, env, why="CloudFormation moved on from this request"
        )
    return answer


def is_create(request: PlanRequest) -> bool:
    return request.request_type == "Create"


def _removed(
    request: PlanRequest,
    product_id: str,
    service_catalog: ServiceCatalog,
    properties: PlanProperties,
    env: Environment,
    *,
    why: str,
) -> ResourceFailure:
    """Remove a product this request created; the failure to answer, keeping the id the stack holds."""
    kept = request.physical_resource_id if not is_create(request) else request.not_provisioned_id()
    removed = remove_product(request, product_id, service_catalog, properties, env)
    outcome = (
        f"provisioned product {product_id} it created was terminated"
        if removed
        else f"provisioned product {product_id} it created could not be terminated yet: the resource's next "
        "request retries"
    )
    return ResourceFailure(f"{why}; the {outcome}.", kept)


def remove_product(
    request: PlanRequest,
    product_id: str,
    service_catalog: ServiceCatalog,
    properties: PlanProperties,
    env: Environment,
) -> bool:
    """Terminate a product this resource created but the stack does not hold, with a Delete's
    patience; True once it is gone. If that fails, the resource's next request retries (abandoned)."""
    try:
        terminate(
            request,
            product_id,
            service_catalog,
            properties=properties,
            deadline=patience_deadline(properties, env),
            env=env,
            guarded=False,
        )
    except ContinuationNeeded:
        raise
    except Exception as error:
        logger.error(
            "Could not remove a product this resource created", extra={"product": product_id, "error": str(error)}
        )
        env.abandoned.add(product_id)
        _abandon(env, Owner.of(request), product_id)
        return False
    return True


def remove_abandoned(
    request: PlanRequest, service_catalog: ServiceCatalog, properties: PlanProperties, env: Environment
) -> None:
    """Before anything else, a resource's request removes what its earlier requests could not."""
    owner = Owner.of(request)
    try:
        abandoned = env.owners.abandoned(owner)
    except OwnershipUnavailableError as error:
        logger.warning("Could not read the products left to remove", extra={"error": str(error)})
        return
    for product_id in sorted(abandoned):
        if product_id == request.physical_resource_id:
            continue
        if remove_product(request, product_id, service_catalog, properties, env):
            try:
                env.owners.forget_abandoned(owner, product_id)
            except OwnershipUnavailableError as error:
                logger.warning("Could not forget a removed product", extra={"error": str(error)})


def _abandon(env: Environment, owner: Owner, product_id: str) -> None:
    try:
        env.owners.abandon(owner, product_id)
    except OwnershipUnavailableError as error:
        logger.error("Could not record a product left to remove", extra={"product": product_id, "error": str(error)})


def current(
    product_id: str,
    service_catalog: ServiceCatalog,
    summary: ChangeSummary,
    *,
    env: Environment,
    deadline: Deadline,
) -> Answer:
    """The ids and outputs of the product as it stands, without executing anything."""
    product = call_until_answered(
        lambda: visible_product(service_catalog, product_id, sleep=env.sleep),
        what=f"provisioned product {product_id}",
        deadline=deadline,
        sleep=env.sleep,
    )
    if product is None:
        raise ResourceFailure(f"Provisioned product {product_id} no longer exists in Service Catalog.")
    record_id = product.last_successful_provisioning_record_id or product.last_record_id
    record = call_until_answered(
        lambda: service_catalog.describe_record(record_id), what=f"record {record_id}", deadline=deadline
    )
    outputs = call_until_answered(
        lambda: service_catalog.record_outputs(record), what=f"the outputs of record {record_id}", deadline=deadline
    )
    return Answer(product_id, answer_data(product_id, record_id, outputs, summary.as_data()))


def terminate(
    request: PlanRequest,
    product_id: str,
    service_catalog: ServiceCatalog,
    *,
    properties: PlanProperties,
    deadline: Deadline,
    env: Environment,
    guarded: bool = True,
) -> None:
    """Terminate and wait. The product is gone only when TerminateProvisionedProduct says so, its
    terminate record succeeds, or reads at least two seconds apart do not find it (visibility.py):
    a read that cannot find it right now is never taken for a terminated product."""
    while True:
        product = call_until_answered(
            lambda: service_catalog.describe_product(product_id),
            what=f"provisioned product {product_id}",
            deadline=deadline,
            sleep=env.sleep,
        )
        if product is None:
            if product_gone(service_catalog, product_id, sleep=env.sleep):
                logger.info("Provisioned product already gone", extra={"provisioned_product_id": product_id})
                product_terminated(env.owners, product_id, request)
                return
            continue  # a later read found it: it was only not visible for a moment
        try:
            if product.status == PRODUCT_UNDER_CHANGE and product.last_record_id:
                # Terminate is refused while another record runs (e.g. a Create that ran out of time).
                _wait(service_catalog, product.last_record_id, properties, deadline, env)
            if guarded and not env.may_act(request):
                raise ResourceFailure(
                    f"Provisioned product {product_id} was not terminated: CloudFormation has moved on from "
                    "this request, so it changes nothing.",
                    product_id,
                )
            record_id = call_until_answered(
                lambda: service_catalog.terminate_product(product_id, request.token(TERMINATE, product_id)),
                what=f"terminating provisioned product {product_id}",
                deadline=deadline,
                sleep=env.sleep,
            )
        except NotFoundError:
            logger.info("Provisioned product already gone", extra={"provisioned_product_id": product_id})
            product_terminated(env.owners, product_id, request)
            return
        except InvalidStateError as error:
            # Another record started on it meanwhile (another request's terminate, say): wait, look again.
            logger.info("Terminate refused for now; waiting", extra={"error": str(error)})
            _pause(deadline, env, f"terminating provisioned product {product_id}")
            continue
        record = _wait(service_catalog, record_id, properties, deadline, env)
        if record.status == RECORD_FAILED:
            raise ResourceFailure(
                f"Terminating provisioned product {product_id} FAILED (record {record_id}): {describe_errors(record)}",
                product_id,
            )
        metrics.add_metric(name="Terminations", unit="Count", value=1)
        product_terminated(env.owners, product_id, request)
        return


def _wait(
    service_catalog: ServiceCatalog, record_id: str, properties: PlanProperties, deadline: Deadline, env: Environment
) -> Record:
    try:
        return wait_for_record(
            service_catalog, record_id, policy=properties.polling, deadline=deadline, sleep=env.sleep
        )
    except DeadlineExceededError as error:
        raise ResourceFailure(f"Terminating: {error}") from error


def _pause(deadline: Deadline, env: Environment, what: str) -> None:
    interval = 2.0
    if deadline.remaining() <= interval:
        if deadline.continuable:
            raise ContinuationNeeded(what, "waiting for another record")
        raise ResourceFailure(f"{what}: another record kept running until {deadline.reason}")
    env.sleep(interval)


def _applied_plan(env: Environment, plan_id: str) -> AppliedPlan | None:
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
