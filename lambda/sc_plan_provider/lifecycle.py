"""Create, Update and Delete of the custom resource: validate, then hand over to the way in.

A resource gives exactly one of `PlanId` (plan mode, plan_mode.py: a plan made elsewhere) or a
product spec (spec mode, spec_mode.py: the stack plans the spec itself). Both, neither or an
incomplete spec is a FAILED naming what is missing or conflicting, before any Service Catalog
call (properties.py). The two modes share the machinery in applying.py; Delete is the same for
both: terminate the product. Each returns an `Answer` or raises `ResourceFailure`; the protocol
layer turns either into the one response CloudFormation gets.

Whatever fails, nothing is orphaned: a request that fails gives back the claims it made on
products the stack does not hold, a resource's requests first remove the products its earlier
requests could not, and a Delete whose physical id is not a product (CloudFormation gave up on
the Create before it answered) still finds and terminates the product the Create made.
"""

from __future__ import annotations

from collections.abc import Callable

from sc_plan_provider import plan_mode, spec_mode
from sc_plan_provider.applying import (
    Answer,
    Environment,
    patience_deadline,
    release_new_claims,
    remove_abandoned,
    terminate,
)
from sc_plan_provider.deputy import check_owner, require_same_home
from sc_plan_provider.errors import ResourceFailure
from sc_plan_provider.ownership import Owner, OwnershipUnavailableError
from sc_plan_provider.plan_executor import PLAN_EXECUTED_STATUSES
from sc_plan_provider.properties import (
    UNUSED_PLAN_ID,
    PlanProperties,
    ignored_properties,
    lenient_properties,
    parse_properties,
)
from sc_plan_provider.property_values import InvalidPropertyError
from sc_plan_provider.request import NOT_PROVISIONED_PREFIX, PlanRequest, is_product_id
from sc_plan_provider.service_catalog import NotFoundError, ServiceCatalog, ServiceCatalogError
from sc_plan_provider.telemetry import logger
from sc_plan_provider.value import replace

__all__ = ["Answer", "Environment", "create", "delete", "update"]


def create(request: PlanRequest, env: Environment) -> Answer:
    require_same_home(request, env.function_arn, request.not_provisioned_id())
    properties = _validated(request, failed_id=request.not_provisioned_id())
    if properties.spec is not None:
        spec = properties.spec
        answer = _releasing(request, env, lambda: spec_mode.create(request, properties, spec, env))
    else:
        plan_id = _plan_id(properties)
        answer = _releasing(request, env, lambda: plan_mode.create(request, properties, plan_id, env))
    return replace(answer, no_echo=properties.no_echo)


def update(request: PlanRequest, env: Environment) -> Answer:
    require_same_home(request, env.function_arn, None)
    properties = _validated(request, failed_id=None)
    if is_product_id(request.physical_resource_id):
        check_owner(env.owners, request.physical_resource_id, request, action="update", failed_id=None)
    remove_abandoned(request, env.service_catalog(properties.accept_language), properties, env)
    if properties.spec is not None:
        spec = properties.spec
        answer = _releasing(request, env, lambda: spec_mode.update(request, properties, spec, env))
    else:
        plan_id = _plan_id(properties)
        answer = _releasing(request, env, lambda: plan_mode.update(request, properties, plan_id, env))
    return replace(answer, no_echo=properties.no_echo)


def delete(request: PlanRequest, env: Environment) -> Answer:
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
    check_owner(env.owners, product_id, request, action="terminate", failed_id=physical_id)
    # Deleting must succeed for the stack to end clean (it is also every rollback's cleanup), so
    # it waits as long as CloudFormation does, not just DeadlineSeconds.
    terminate(
        request,
        product_id,
        service_catalog,
        properties=properties,
        deadline=patience_deadline(properties, env),
        env=env,
    )
    return Answer(physical_id)


def _created_unanswered(
    request: PlanRequest, properties: PlanProperties, service_catalog: ServiceCatalog, env: Environment
) -> str | None:
    """The product this resource's Create made although CloudFormation never got its answer (it
    gave up, then sent this Delete with an id of its own): found from the plan or the spec's name,
    and only if the owner records say it is this resource's."""
    me = Owner.of(request)
    try:
        if properties.spec is not None:
            product = service_catalog.describe_product_by_name(properties.spec.provisioned_product_name)
            candidate = product.provisioned_product_id if product is not None else None
        elif properties.plan_id not in (None, UNUSED_PLAN_ID):
            assert properties.plan_id is not None
            plan = service_catalog.describe_plan(properties.plan_id)
            executed = plan.status in PLAN_EXECUTED_STATUSES
            candidate = plan.provisioned_product_id if executed else None
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


def _releasing(request: PlanRequest, env: Environment, operation: Callable[[], Answer]) -> Answer:
    """A failed request never takes ownership: claims it made on products that the failed answer
    does not name are given back."""
    try:
        return operation()
    except ResourceFailure as failure:
        release_new_claims(request, env, keep=failure.physical_resource_id or request.physical_resource_id)
        raise


def _validated(request: PlanRequest, failed_id: str | None) -> PlanProperties:
    ignored = ignored_properties(request.properties)
    if ignored:
        logger.warning("Properties ignored: the provider does not read them", extra={"ignored": ignored})
    try:
        properties = parse_properties(request.properties)
    except InvalidPropertyError as error:
        raise ResourceFailure(str(error), failed_id) from error
    if properties.deadline_given is not None:
        logger.warning(
            "DeadlineSeconds capped to leave time to answer before ServiceTimeout",
            extra={"given": properties.deadline_given, "capped": properties.deadline_seconds},
        )
    return properties


def _plan_id(properties: PlanProperties) -> str:
    """parse_properties gives exactly one of a plan id and a spec."""
    assert properties.plan_id is not None
    return properties.plan_id
