"""Removing a product: terminate it and wait, with a Delete's patience.

Used when something has to go: a Delete (also every rollback's cleanup), a replacement that failed,
a Create that CloudFormation gave up on, a placeholder product a deleted plan left, or a product an
earlier request of the resource could not remove (recorded as abandoned in the owners table,
removed by the resource's next request). Nothing here runs on a Create's normal path.

Only the resource's own Delete passes its delete options (RetainPhysicalResources,
TerminateIgnoreErrors, as Terraform's aws_servicecatalog_provisioned_product does on destroy): a
product removed because the stack will never hold it (a failed replacement, a placeholder, a Create
CloudFormation gave up on) is removed with its resources, and one whose resources cannot be deleted
stays recorded for the next request to retry, never forgotten with its resources left behind.

A product is gone only when TerminateProvisionedProduct says so, its terminate record succeeds, or
reads seconds apart do not find it (`_product_gone`): a read that cannot find
it right now (eventual consistency) is never taken for a terminated product.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.request import ResourceFailure
from sc_plan_provider.core.telemetry import logger, metrics
from sc_plan_provider.properties.resource import (
    RETAIN_PHYSICAL_RESOURCES,
    TERMINATE_IGNORE_ERRORS,
    default_deadline_seconds,
)
from sc_plan_provider.records.leftovers import leftovers_of
from sc_plan_provider.records.owners import Owner, OwnershipUnavailableError
from sc_plan_provider.servicecatalog.calls import InvalidStateError, NotFoundError
from sc_plan_provider.servicecatalog.planning import PlanningCatalog
from sc_plan_provider.servicecatalog.shapes import (
    PRODUCT_UNDER_CHANGE,
    RECORD_FAILED,
    RECORD_SUCCEEDED,
    describe_errors,
)
from sc_plan_provider.servicecatalog.wait import (
    BUSY_PRODUCT_PAUSE_SECONDS,
    PRODUCT_GONE,
    described_product,
    wait_for_record,
)
from sc_plan_provider.waiting.deadline import Deadline
from sc_plan_provider.waiting.visibility import confirm_missing
from sc_plan_provider.waiting.waiter import ContinuationNeeded, DeadlineExceededError, call_until_answered, pause

if TYPE_CHECKING:
    from sc_plan_provider.core.request import PlanRequest
    from sc_plan_provider.properties.resource import PlanProperties
    from sc_plan_provider.records.ports import OwnerRegistry
    from sc_plan_provider.servicecatalog.calls import ServiceCatalog
    from sc_plan_provider.servicecatalog.shapes import Record
    from sc_plan_provider.steps.context import Environment
    from sc_plan_provider.waiting.waiter import Sleep

TERMINATE = "terminate"


def patience_deadline(properties: PlanProperties, env: Environment) -> Deadline:
    """A Delete's patience: as long as CloudFormation waits (ServiceTimeout less a margin to answer),
    whatever DeadlineSeconds says, across continuations: cleanups must not fail for a short deadline."""
    patience = default_deadline_seconds(properties.service_timeout_seconds)
    own = Deadline.at_epoch(env.first_seen + patience, f"ServiceTimeout ({patience:g} s) nearly ran out")
    return own.earliest(env.function_deadline)


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
    kept = request.physical_resource_id if not request.is_create else request.not_provisioned_id()
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
        abandoned = leftovers_of(env.owners).abandoned(owner)
    except OwnershipUnavailableError as error:
        logger.warning("Could not read the products left to remove", extra={"error": str(error)})
        return
    for product_id in sorted(abandoned):
        if product_id == request.physical_resource_id:
            continue
        if remove_product(request, product_id, service_catalog, properties, env):
            try:
                leftovers_of(env.owners).forget_abandoned(owner, product_id)
            except OwnershipUnavailableError as error:
                logger.warning("Could not forget a removed product", extra={"error": str(error)})


def _abandon(env: Environment, owner: Owner, product_id: str) -> None:
    try:
        leftovers_of(env.owners).abandon(owner, product_id)
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
    terminate record succeeds, or reads seconds apart do not find it (`product_gone`): a read that
    cannot find it right now is never taken for a terminated product.

    `with_delete_options`: the resource's own Delete, which passes RetainPhysicalResources and
    TerminateIgnoreErrors as the properties say."""
    retain = with_delete_options and properties.retain_physical_resources
    ignore_errors = with_delete_options and properties.terminate_ignore_errors
    what = f"terminating provisioned product {product_id}"

    def wait_for_another_record() -> None:
        pause(BUSY_PRODUCT_PAUSE_SECONDS, what=what, busy="another record", deadline=deadline, sleep=env.sleep)

    def gone() -> None:
        logger.info("Provisioned product already gone", extra={"provisioned_product_id": product_id})
        product_terminated(env.owners, product_id, request)

    while True:
        product = call_until_answered(
            lambda: service_catalog.describe_product(product_id),
            what=f"provisioned product {product_id}",
            deadline=deadline,
            sleep=env.sleep,
        )
        if product is None:
            if _terminated_earlier(request, product_id, service_catalog, env) or _product_gone(
                service_catalog, product_id, sleep=env.sleep
            ):
                gone()
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
                what=what,
                deadline=deadline,
                sleep=env.sleep,
            )
        except NotFoundError:
            # Just read as there: a not found now may be the service's eventual consistency.
            if not _product_gone(service_catalog, product_id, sleep=env.sleep):
                logger.info("Terminate answered not found, yet the product is there; trying again")
                wait_for_another_record()
                continue
            gone()
            return
        except InvalidStateError as error:
            # Another record started on it meanwhile (another request's terminate, say): wait, look again.
            logger.info("Terminate refused for now; waiting", extra={"error": str(error)})
            wait_for_another_record()
            continue
        _note_terminating(request, product_id, record_id, env)
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


def _note_terminating(request: PlanRequest, product_id: str, record_id: str, env: Environment) -> None:
    try:
        env.ledger.terminating(request, product_id, record_id)
    except Exception as error:  # only a shortcut for a later hop: it proves absence by reads instead
        logger.warning("Could not record the terminate record", extra={"error": type(error).__name__})


def _terminated_earlier(
    request: PlanRequest, product_id: str, service_catalog: ServiceCatalog, env: Environment
) -> bool:
    """A product not found after this request's own terminate record succeeded (an earlier hop
    started it) is gone: no need for reads seconds apart, which a short invocation cannot fit."""
    try:
        record_id = env.ledger.terminate_record(request, product_id)
        return record_id is not None and service_catalog.describe_record(record_id).status == RECORD_SUCCEEDED
    except Exception:  # no proof either way: the reads decide
        return False


def _wait(
    service_catalog: ServiceCatalog, record_id: str, properties: PlanProperties, deadline: Deadline, env: Environment
) -> Record:
    try:
        return wait_for_record(
            service_catalog, record_id, policy=properties.polling, deadline=deadline, sleep=env.sleep
        )
    except DeadlineExceededError as error:
        raise ResourceFailure(f"Terminating: {error}") from error


def product_terminated(registry: OwnerRegistry, provisioned_product_id: str, request: PlanRequest) -> None:
    """Let the owner record expire; a failure here never fails a Delete that succeeded."""
    try:
        registry.terminated(provisioned_product_id, Owner.of(request))
    except OwnershipUnavailableError:
        logger.warning(
            "Could not mark the owner record of a terminated product", extra={"product": provisioned_product_id}
        )


def _product_gone(service_catalog: ServiceCatalog, provisioned_product_id: str, *, sleep: Sleep) -> bool:
    """After a read or a terminate that found no product: True only when PRODUCT_GONE's reads all
    find no product either; a read that finds it or gets no answer is no proof of absence."""
    return confirm_missing(
        lambda: described_product(service_catalog, provisioned_product_id), PRODUCT_GONE, sleep=sleep
    )
