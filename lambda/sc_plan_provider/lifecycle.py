"""Create, Update and Delete of the custom resource: validate, then hand over to the way in.

A resource gives exactly one of `PlanId` (plan mode, plan_mode.py: a plan made elsewhere) or a
product spec (spec mode, spec_mode.py: the stack plans the spec itself). Both, neither or an
incomplete spec is a FAILED naming what is missing or conflicting, before any Service Catalog
call (properties.py). The two modes share the machinery in applying.py; Delete is the same for
both: terminate the product. Each returns an `Answer` or raises `ResourceFailure`; the protocol
layer turns either into the one response CloudFormation gets.
"""

from __future__ import annotations

from sc_plan_provider import plan_mode, spec_mode
from sc_plan_provider.applying import Answer, Environment, terminate
from sc_plan_provider.deadline import Deadline
from sc_plan_provider.deputy import require_owner, require_same_home
from sc_plan_provider.errors import ResourceFailure
from sc_plan_provider.properties import (
    PLAN_ID,
    SERVICE_TIMEOUT,
    PlanProperties,
    default_deadline_seconds,
    ignored_properties,
    parse_properties,
)
from sc_plan_provider.property_values import InvalidPropertyError
from sc_plan_provider.request import PlanRequest, is_product_id
from sc_plan_provider.telemetry import logger
from sc_plan_provider.value import replace

__all__ = ["Answer", "Environment", "create", "delete", "update"]


def create(request: PlanRequest, env: Environment) -> Answer:
    require_same_home(request, env.function_arn, request.not_provisioned_id())
    properties = _validated(request, failed_id=request.not_provisioned_id())
    if properties.spec is not None:
        answer = spec_mode.create(request, properties, properties.spec, env)
    else:
        answer = plan_mode.create(request, properties, _plan_id(properties), env)
    return replace(answer, no_echo=properties.no_echo)


def update(request: PlanRequest, env: Environment) -> Answer:
    require_same_home(request, env.function_arn, None)
    properties = _validated(request, failed_id=None)
    if is_product_id(request.physical_resource_id):
        require_owner(env.owners, request.physical_resource_id, request, action="update", failed_id=None)
    if properties.spec is not None:
        answer = spec_mode.update(request, properties, properties.spec, env)
    else:
        answer = plan_mode.update(request, properties, _plan_id(properties), env)
    return replace(answer, no_echo=properties.no_echo)


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
    terminate(
        request,
        product_id,
        service_catalog,
        properties=properties,
        deadline=deadline.earliest(env.function_deadline),
        env=env,
    )
    return Answer(product_id)


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


def _plan_id(properties: PlanProperties) -> str:
    """parse_properties gives exactly one of a plan id and a spec."""
    assert properties.plan_id is not None
    return properties.plan_id
