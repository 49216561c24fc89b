"""The route table: which route answers each request CloudFormation sends, and what it loads.

A resource gives exactly one of `PlanId` (plan mode: a plan made and reviewed elsewhere) or a
product spec (spec mode: the stack plans the spec on every deployment). CloudFormation does not
mark rollbacks: a rollback Update carries the old properties back, and a failed Create is rolled
back by a Delete. Each route module reads top to bottom. Every request loads the handler, the
runtime, the properties, the records, the Service Catalog calls and waits, the waiting package and
steps/context.py and steps/deputy.py; each route loads besides:

| Request | Mode | What CloudFormation means by it              | Route       | Loads besides                        |
|---------|------|----------------------------------------------|-------------|--------------------------------------|
| Create  | plan | a new resource                               | plan_create | steps.gate, steps.apply              |
| Create  | spec | a new resource                               | spec_apply  | steps.gate, steps.apply,             |
|         |      |                                              |             | steps.name_resolution,               |
|         |      |                                              |             | steps.spec_plans, steps.report,      |
|         |      |                                              |             | steps.tag_changes, steps.terminate,  |
|         |      |                                              |             | servicecatalog.planning,             |
|         |      |                                              |             | records.leftovers, properties.spec,  |
|         |      |                                              |             | properties.spec_checks               |
| Update  | plan | a new plan; the same plan (reported); an old | plan_update | steps.gate, steps.apply,             |
|         |      | plan, which is how a rollback comes          |             | steps.terminate, records.leftovers;  |
|         |      | (restored, ungated)                          |             | steps.report and steps.restore when  |
|         |      |                                              |             | reporting or restoring               |
| Update  | spec | a changed spec; the same spec (reported); a  | spec_apply  | as a spec Create                     |
|         |      | spec applied before, how a rollback comes    |             |                                      |
| Delete  | any  | a Delete; a failed Create's rollback; the    | delete      | steps.terminate,                     |
|         |      | cleanup of a replaced product                |             | servicecatalog.planning,             |
|         |      |                                              |             | records.leftovers                    |

steps.refusal, steps.recovery, steps.leftovers and runtime.handover load only when a plan is
refused, a duplicate finds its own execution, a request fails or is handed over. The owners table
guard of an ephemeral provider (`Custom::ServiceCatalogPlanExecutionOwnersGuard`) has its own route,
owners_guard, with records.live_owners.

Every Create and Update first checks the stack's home and validates the properties (a bad one, or
one the provider does not read, is a FAILED naming it, before any Service Catalog call); an Update
first removes what the resource's earlier requests left behind (steps/terminate.py). A request that
fails gives back the claims it made on products the stack does not hold (steps/leftovers.py). Each
route returns an `Answer` or raises `ResourceFailure`; the runtime turns either into the one
response CloudFormation gets. What a plan-mode Create, a spec-mode Create and a Delete load is pinned by
tests/architecture/cold_start_modules.json; tests/architecture checks this table against it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.request import PlanRequest, ResourceFailure, is_product_id
from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.core.value import replace
from sc_plan_provider.properties.resource import (
    OWNERS_GUARD_TYPE,
    PlanProperties,
    ignores_unknown_properties,
    parse_properties,
    unknown_properties,
)
from sc_plan_provider.properties.values import InvalidPropertyError
from sc_plan_provider.steps.deputy import check_owner, require_same_home

if TYPE_CHECKING:
    from collections.abc import Callable

    from sc_plan_provider.steps.context import Answer, Environment

__all__ = ["on_create", "on_delete", "on_update"]


def on_create(request: PlanRequest, env: Environment) -> Answer:
    if request.resource_type == OWNERS_GUARD_TYPE:
        from sc_plan_provider.routes import owners_guard  # noqa: PLC0415 - the guard's requests only

        return owners_guard.create(request, env)
    require_same_home(request, env.function_arn, request.not_provisioned_id())
    properties = _validated(request, env, failed_id=request.not_provisioned_id())
    if properties.spec is not None:
        from sc_plan_provider.routes import spec_apply  # noqa: PLC0415 - each route loads when it runs

        spec = properties.spec
        answer = _releasing(request, env, lambda: spec_apply.create(request, properties, spec, env))
    else:
        from sc_plan_provider.routes import plan_create  # noqa: PLC0415 - each route loads when it runs

        plan_id = _plan_id(properties)
        answer = _releasing(request, env, lambda: plan_create.create(request, properties, plan_id, env))
    return replace(answer, no_echo=properties.no_echo)


def on_update(request: PlanRequest, env: Environment) -> Answer:
    if request.resource_type == OWNERS_GUARD_TYPE:
        from sc_plan_provider.routes import owners_guard  # noqa: PLC0415 - the guard's requests only

        return owners_guard.create(request, env)
    require_same_home(request, env.function_arn, None)
    properties = _validated(request, env, failed_id=None)
    if is_product_id(request.physical_resource_id):
        check_owner(env.owners, request.physical_resource_id, request, action="update", failed_id=None)
    from sc_plan_provider.steps.terminate import remove_abandoned  # noqa: PLC0415 - Updates and Deletes only

    remove_abandoned(request, env.service_catalog(properties.accept_language), properties, env)
    if properties.spec is not None:
        from sc_plan_provider.routes import spec_apply  # noqa: PLC0415 - each route loads when it runs

        spec = properties.spec
        answer = _releasing(request, env, lambda: spec_apply.update(request, properties, spec, env))
    else:
        from sc_plan_provider.routes import plan_update  # noqa: PLC0415 - each route loads when it runs

        plan_id = _plan_id(properties)
        answer = _releasing(request, env, lambda: plan_update.update(request, properties, plan_id, env))
    return replace(answer, no_echo=properties.no_echo)


def on_delete(request: PlanRequest, env: Environment) -> Answer:
    """Terminate the product, with lenient properties (a Delete is never blocked by them)."""
    if request.resource_type == OWNERS_GUARD_TYPE:
        from sc_plan_provider.routes import owners_guard  # noqa: PLC0415 - the guard's requests only

        return owners_guard.delete(request, env)
    from sc_plan_provider.routes import delete  # noqa: PLC0415 - each route loads when it runs

    return delete.delete(request, env)


def _releasing(request: PlanRequest, env: Environment, operation: Callable[[], Answer]) -> Answer:
    """A failed request never takes ownership: claims it made on products that the failed answer
    does not name are given back."""
    try:
        return operation()
    except ResourceFailure as failure:
        from sc_plan_provider.steps.leftovers import release_new_claims  # noqa: PLC0415 - a failed request only

        release_new_claims(request, env, keep=(failure.physical_resource_id or "", request.physical_resource_id))
        raise


def _validated(request: PlanRequest, env: Environment, failed_id: str | None) -> PlanProperties:
    unknown = unknown_properties(request.properties)
    # Before the others: `PlanID` for `PlanId` is named as such, not as a missing PlanId. A rollback
    # carries back the properties the stack had: those are never refused.
    refused = unknown and not ignores_unknown_properties(request.properties)
    if refused and not (request.request_type == "Update" and env.rolling_back(request)):
        from sc_plan_provider.properties.unknown import unknown_properties_reason  # noqa: PLC0415 - a typo only

        raise ResourceFailure(unknown_properties_reason(unknown), failed_id)
    if unknown:
        logger.warning("Properties ignored: the provider does not read them", extra={"ignored": unknown})
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
