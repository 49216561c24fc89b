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

from sc_plan_provider.core.errors import ResourceFailure
from sc_plan_provider.core.request import PlanRequest, is_product_id
from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.core.value import replace
from sc_plan_provider.properties.resource import (
    PlanProperties,
    ignored_properties,
    parse_properties,
)
from sc_plan_provider.properties.values import InvalidPropertyError
from sc_plan_provider.routes import plan_create as plan_mode
from sc_plan_provider.steps.apply import Answer, Environment
from sc_plan_provider.steps.deputy import check_owner, require_same_home

__all__ = ["Answer", "Environment", "create", "delete", "update"]


def create(request: PlanRequest, env: Environment) -> Answer:
    require_same_home(request, env.function_arn, request.not_provisioned_id())
    properties = _validated(request, failed_id=request.not_provisioned_id())
    if properties.spec is not None:
        from sc_plan_provider.routes import spec_apply as spec_mode  # each way in loads when it is used

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
    from sc_plan_provider.steps.terminate import remove_abandoned

    remove_abandoned(request, env.service_catalog(properties.accept_language), properties, env)
    if properties.spec is not None:
        from sc_plan_provider.routes import spec_apply as spec_mode

        spec = properties.spec
        answer = _releasing(request, env, lambda: spec_mode.update(request, properties, spec, env))
    else:
        from sc_plan_provider.routes import plan_update as plan_updates

        plan_id = _plan_id(properties)
        answer = _releasing(request, env, lambda: plan_updates.update(request, properties, plan_id, env))
    return replace(answer, no_echo=properties.no_echo)


def delete(request: PlanRequest, env: Environment) -> Answer:
    """Terminate the product (cleanup.py: loaded by Deletes and rollbacks, not by a Create)."""
    from sc_plan_provider.steps import terminate as cleanup

    return cleanup.delete(request, env)


def _releasing(request: PlanRequest, env: Environment, operation: Callable[[], Answer]) -> Answer:
    """A failed request never takes ownership: claims it made on products that the failed answer
    does not name are given back."""
    try:
        return operation()
    except ResourceFailure as failure:
        from sc_plan_provider.steps.leftovers import release_new_claims

        release_new_claims(request, env, keep=(failure.physical_resource_id or "", request.physical_resource_id))
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
