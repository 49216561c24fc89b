"""Removing what a change left behind: terminate a product and wait, with a Delete's patience.

Loaded only when something has to go: a Delete (every rollback's cleanup), a replacement that
failed, a Create that CloudFormation gave up on, a placeholder product a deleted plan left, or a
product an earlier request of the resource could not remove (recorded as abandoned in the owners
table, removed by the resource's next request). Nothing here runs on a Create's normal path.

Only the resource's own Delete passes its delete options (RetainPhysicalResources,
TerminateIgnoreErrors, as Terraform's aws_servicecatalog_provisioned_product does on destroy): a
product removed because the stack will never hold it (a failed replacement, a placeholder, a Create
CloudFormation gave up on) is removed with its resources, and one whose resources cannot be deleted
stays recorded for the next request to retry, never forgotten with its resources left behind.

A product is gone only when TerminateProvisionedProduct says so, its terminate record succeeds, or
reads at least two seconds apart do not find it: a read that cannot find it right now (eventual
consistency) is never taken for a terminated product (terraform-provider-aws's servicecatalog
waiters need several not-found reads too: `internal/service/servicecatalog/wait.go`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sc_plan_provider.core.errors import ContinuationNeeded, DeadlineExceededError, ResourceFailure
from sc_plan_provider.core.request import NOT_PROVISIONED_PREFIX, PlanRequest, is_product_id
from sc_plan_provider.core.telemetry import logger, metrics
from sc_plan_provider.properties.resource import (
    ACCEPT_LANGUAGE,
    PLAN_ID,
    POLLING_PROPERTIES,
    RETAIN_PHYSICAL_RESOURCES,
    SERVICE_TIMEOUT,
    TERMINATE_IGNORE_ERRORS,
    UNUSED_PLAN_ID,
    PlanProperties,
    parse_properties,
)
from sc_plan_provider.properties.spec_properties import declares_spec, parse_product_spec
from sc_plan_provider.properties.values import InvalidPropertyError
from sc_plan_provider.records.owners import Owner, OwnershipUnavailableError
from sc_plan_provider.servicecatalog.calls import (
    InvalidStateError,
    NotFoundError,
    Record,
    ServiceCatalog,
    ServiceCatalogError,
    TransientError,
)
from sc_plan_provider.servicecatalog.planning import PlanningCatalog
from sc_plan_provider.servicecatalog.wait import RECORD_FAILED, describe_errors, wait_for_record
from sc_plan_provider.steps.apply import Answer, Environment, is_create, patience_deadline
from sc_plan_provider.steps.deputy import require_owner, require_same_home
from sc_plan_provider.steps.execute import PLAN_EXECUTED_STATUSES
from sc_plan_provider.steps.leftovers import leftovers
from sc_plan_provider.waiting.deadline import Deadline
from sc_plan_provider.waiting.waiter import call_until_answered

if TYPE_CHECKING:
    from sc_plan_provider.records.ports import OwnerRegistry

TERMINATE = "terminate"
PRODUCT_UNDER_CHANGE = "UNDER_CHANGE"
# A product is gone when this many reads, this far apart, do not find it.
GONE_READS = 3
GONE_READ_INTERVAL_SECONDS = 2.0
# How long to wait before looking again at a product another record is changing.
BUSY_PRODUCT_PAUSE_SECONDS = 2.0


def removal_failure(
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
        abandoned = leftovers(env).abandoned(owner)
    except OwnershipUnavailableError as error:
        logger.warning("Could not read the products left to remove", extra={"error": str(error)})
        return
    for product_id in sorted(abandoned):
        if product_id == request.physical_resource_id:
            continue
        if remove_product(request, product_id, service_catalog, properties, env):
            try:
                leftovers(env).forget_abandoned(owner, product_id)
            except OwnershipUnavailableError as error:
                logger.warning("Could not forget a removed product", extra={"error": str(error)})


def _abandon(env: Environment, owner: Owner, product_id: str) -> None:
    try:
        leftovers(env).abandon(owner, product_id)
    except OwnershipUnavailableError as error:
        logger.error("Could not record a product left to remove", extra={"product": product_id, "error": str(error)})


def terminate(
    request: PlanRequest,
    product_id: str,
    service_catalog: ServiceCatalog,
    *,
    properties: PlanProperties,
    deadline: Deadline,
    env: Environment,
    guarded: bool = True,
    with_delete_options: bool = False,
) -> None:
    """Terminate and wait. The product is gone only when TerminateProvisionedProduct says so, its
    terminate record succeeds, or reads at least two seconds apart do not find it (visibility.py):
    a read that cannot find it right now is never taken for a terminated product.

    `with_delete_options`: the resource's own Delete, which passes RetainPhysicalResources and
    TerminateIgnoreErrors as the properties say."""
    retain = with_delete_options and properties.retain_physical_resources
    ignore_errors = with_delete_options and properties.terminate_ignore_errors
    while True:
        product = call_until_answered(
            lambda: service_catalog.describe_product(product_id),
            what=f"provisioned product {product_id}",
            deadline=deadline,
            sleep=env.sleep,
        )
        if product is None:
            if product_gone(service_catalog, product_id, env):
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
                lambda: service_catalog.extended(PlanningCatalog).terminate_product(
                    product_id, request.token(TERMINATE, product_id), retain=retain, ignore_errors=ignore_errors
                ),
                what=f"terminating provisioned product {product_id}",
                deadline=deadline,
                sleep=env.sleep,
            )
        except NotFoundError:
            # Just read as there: a not found now may be the service's eventual consistency.
            if not product_gone(service_catalog, product_id, env):
                logger.info("Terminate answered not found, yet the product is there; trying again")
                _pause(deadline, env, f"terminating provisioned product {product_id}")
                continue
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
            hint = (
                f'. {TERMINATE_IGNORE_ERRORS} or {RETAIN_PHYSICAL_RESOURCES} "true", deployed before the Delete, '
                "lets Service Catalog remove the product anyway and leave its resources"
                if with_delete_options and not ignore_errors
                else ""
            )
            raise ResourceFailure(
                f"Terminating provisioned product {product_id} FAILED (record {record_id}): "
                f"{describe_errors(record)}{hint}",
                product_id,
            )
        metrics.add_metric(name="Terminations", unit="Count", value=1)
        if retain:
            logger.info("Provisioned product terminated; its resources were retained", extra={"product": product_id})
        product_terminated(env.owners, product_id, request)
        return


def product_gone(service_catalog: ServiceCatalog, provisioned_product_id: str, env: Environment) -> bool:
    """True only when GONE_READS reads, GONE_READ_INTERVAL_SECONDS apart, all find no product."""
    for attempt in range(GONE_READS):
        if attempt:
            env.sleep(GONE_READ_INTERVAL_SECONDS)
        try:
            if service_catalog.describe_product(provisioned_product_id) is not None:
                return False
        except TransientError:  # a read that gets no answer is not a proof of absence
            return False
    return True


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
    interval = BUSY_PRODUCT_PAUSE_SECONDS
    if deadline.remaining() <= interval:
        if deadline.continuable:
            raise ContinuationNeeded(what, "waiting for another record")
        raise ResourceFailure(f"{what}: another record kept running until {deadline.reason}")
    env.sleep(interval)


def delete(request: PlanRequest, env: Environment) -> Answer:
    """Delete: terminate the product the resource names (or, for a Create CloudFormation gave up on,
    the product it made), with the patience of CloudFormation itself."""
    physical_id = request.physical_resource_id
    if physical_id.startswith(NOT_PROVISIONED_PREFIX):
        # This provider's own marker: its Create answered FAILED before any product existed, and an
        # answered request never acts again.
        logger.info("Physical id was never a provisioned product: nothing to delete")
        return Answer(physical_id)
    require_same_home(request, env.function_arn, physical_id)
    properties = lenient_properties(request.properties)
    service_catalog = env.service_catalog(properties.accept_language)
    remove_abandoned(request, service_catalog, properties, env)
    product_id = (
        physical_id if is_product_id(physical_id) else _created_unanswered(request, properties, service_catalog, env)
    )
    if product_id is None:
        logger.info("Physical id was never a provisioned product, and the resource owns none: nothing to delete")
        return Answer(physical_id)
    # Deleting must succeed for the stack to end clean (it is also every rollback's cleanup), so
    # it waits as long as CloudFormation does, not just DeadlineSeconds.
    patience = patience_deadline(properties, env)
    require_owner(
        env.owners, product_id, request, action="terminate", failed_id=physical_id, patience=patience, sleep=env.sleep
    )
    if properties.spec is not None:
        # Plans this resource made and could not delete would outlive the stack.
        from sc_plan_provider.routes.spec_apply import delete_own_plans

        delete_own_plans(service_catalog.extended(PlanningCatalog), request, product_id)
    terminate(
        request,
        product_id,
        service_catalog,
        properties=properties,
        deadline=patience,
        env=env,
        with_delete_options=True,
    )
    return Answer(physical_id)


def _created_unanswered(
    request: PlanRequest, properties: PlanProperties, service_catalog: ServiceCatalog, env: Environment
) -> str | None:
    """The product this resource's Create made although CloudFormation never got its answer (it
    gave up, then sent this Delete with an id of its own): found from the plan (the provider's record
    of its execution, or the plan's status) or the spec's name, and only if the owner records say it
    is this resource's. The Create's own chain removes what it makes after this (superseded)."""
    me = Owner.of(request)
    try:
        if properties.spec is not None:
            planning = service_catalog.extended(PlanningCatalog)
            product = planning.describe_product_by_name(properties.spec.provisioned_product_name)
            candidate = product.provisioned_product_id if product is not None else None
        elif properties.plan_id not in (None, UNUSED_PLAN_ID):
            assert properties.plan_id is not None
            candidate = _executed_plans_product(properties.plan_id, me, service_catalog, env)
        else:
            candidate = None
        if candidate is None or env.owners.owner(candidate) != me:
            return None
    except NotFoundError:
        return None
    except (ServiceCatalogError, OwnershipUnavailableError) as error:
        raise ResourceFailure(
            f"Could not find out whether this resource's Create left a product ({error}); retry the deletion.",
            request.physical_resource_id,
        ) from error
    logger.info("Found the product of a Create that never answered", extra={"provisioned_product_id": candidate})
    return candidate


def _executed_plans_product(plan_id: str, me: Owner, service_catalog: ServiceCatalog, env: Environment) -> str | None:
    """The plan's product if this resource executed the plan (its record says so; a read of the plan
    right after its execution may still show CREATE_SUCCESS), or the plan shows it executed."""
    applied = env.owners.applied_plan(plan_id)
    if applied is not None and applied.owner == me and applied.record_id:
        return applied.provisioned_product_id
    plan = service_catalog.describe_plan(plan_id)
    return plan.provisioned_product_id if plan.status in PLAN_EXECUTED_STATUSES else None


def lenient_properties(raw: Mapping[str, Any]) -> PlanProperties:
    """For a Delete, which must not be blocked by properties that no longer validate: the valid
    ones as parse_properties reads them, defaults for the rest (a Delete needs only the language,
    the polling, ServiceTimeout, the delete options, and the plan id or spec to find a product)."""
    try:
        return parse_properties(raw)
    except InvalidPropertyError:
        pass
    usable: dict[str, Any] = {}
    for name in (
        ACCEPT_LANGUAGE,
        SERVICE_TIMEOUT,
        *POLLING_PROPERTIES,
        RETAIN_PHYSICAL_RESOURCES,
        TERMINATE_IGNORE_ERRORS,
        PLAN_ID,
    ):
        try:
            parse_properties({PLAN_ID: UNUSED_PLAN_ID, **usable, name: raw.get(name)})
        except InvalidPropertyError:
            continue
        if raw.get(name) not in (None, ""):
            usable[name] = raw.get(name)
    if declares_spec(raw) and PLAN_ID not in usable:
        try:
            spec = parse_product_spec(raw)
        except InvalidPropertyError:
            spec = None
        if spec is not None:
            return parse_properties({**usable, **spec.as_properties()})
    usable.setdefault(PLAN_ID, UNUSED_PLAN_ID)
    return parse_properties(usable)


def product_terminated(registry: OwnerRegistry, provisioned_product_id: str, request: PlanRequest) -> None:
    """Let the owner record expire; a failure here never fails a Delete that succeeded."""
    try:
        registry.terminated(provisioned_product_id, Owner.of(request))
    except OwnershipUnavailableError:
        logger.warning(
            "Could not mark the owner record of a terminated product", extra={"product": provisioned_product_id}
        )
