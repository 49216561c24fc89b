"""Delete, either mode: terminate the product, with the patience of CloudFormation itself.

Every Delete must succeed for the stack to end clean: it is also the rollback of a failed Create
and the cleanup of a replaced product. So it reads its properties leniently (defaults for any that
no longer validate), removes what the resource's earlier requests left behind, checks that the
resource owns the product (retrying an owners table that does not answer), deletes the plans a
spec-mode resource left, and terminates with the resource's delete options. A Create that
CloudFormation gave up on before it answered gets a Delete with an id of CloudFormation's own: the
product that Create made is found from the plan or the spec's name, if the owner records say it is
this resource's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sc_plan_provider.core.request import NOT_PROVISIONED_PREFIX, PlanRequest, ResourceFailure, is_product_id
from sc_plan_provider.core.telemetry import logger
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
from sc_plan_provider.properties.spec_properties import declares_spec
from sc_plan_provider.properties.values import InvalidPropertyError
from sc_plan_provider.records.owners import Owner, OwnershipUnavailableError
from sc_plan_provider.servicecatalog.calls import NotFoundError, ServiceCatalogError
from sc_plan_provider.servicecatalog.planning import PlanningCatalog
from sc_plan_provider.servicecatalog.shapes import PLAN_EXECUTED_STATUSES
from sc_plan_provider.steps.context import Answer
from sc_plan_provider.steps.deputy import require_owner, require_same_home
from sc_plan_provider.steps.terminate import patience_deadline, remove_abandoned, terminate

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sc_plan_provider.servicecatalog.calls import ServiceCatalog
    from sc_plan_provider.servicecatalog.shapes import Plan
    from sc_plan_provider.steps.context import Environment


def delete(request: PlanRequest, env: Environment) -> Answer:
    """Delete: terminate the product the resource names (or, for a Create CloudFormation gave up on,
    the product it made), with the patience of CloudFormation itself."""
    physical_id = request.physical_resource_id
    require_same_home(request, env.function_arn, physical_id)
    properties = lenient_properties(request.properties)
    service_catalog = env.service_catalog(properties.accept_language)
    # Even when the physical id was never a product: what the resource's earlier requests made and
    # could not remove (a superseded Create's product, say) must not outlive the stack.
    remove_abandoned(request, service_catalog, properties, env)
    if physical_id.startswith(NOT_PROVISIONED_PREFIX):
        # This provider's own marker: its Create answered FAILED before any product existed, and an
        # answered request never acts again.
        logger.info("Physical id was never a provisioned product: nothing to delete")
        return Answer(physical_id)
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
        from sc_plan_provider.steps.spec_plans import delete_own_plans  # noqa: PLC0415 - spec mode only

        delete_own_plans(service_catalog.extended(PlanningCatalog), request, product_id, sleep=env.sleep)
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
    if applied is not None and applied.owner == me:
        # The Create recorded its intent and may be executing right now: its plan shows it soon.
        from sc_plan_provider.steps.recovery import executed_plan  # noqa: PLC0415 - a Create given up on only

        plan: Plan | None = executed_plan(service_catalog, plan_id, sleep=env.sleep)
    else:
        plan = service_catalog.describe_plan(plan_id)
    return plan.provisioned_product_id if plan is not None and plan.status in PLAN_EXECUTED_STATUSES else None


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
        from sc_plan_provider.properties.spec_checks import parse_product_spec  # noqa: PLC0415 - spec mode only

        try:
            spec = parse_product_spec(raw)
        except InvalidPropertyError:
            spec = None
        if spec is not None:
            return parse_properties({**usable, **spec.as_properties()})
    usable.setdefault(PLAN_ID, UNUSED_PLAN_ID)
    return parse_properties(usable)
