"""Plan mode: the resource names a plan made elsewhere (`PlanId`), reviewed before the deployment.

Create executes the plan; an Update with a new PlanId executes that one (against the same product
or, for a plan of another name, a new one that CloudFormation replaces the old with); an Update
naming a plan that already ran restores it (restore.py), never gated or re-executed: that is
every rollback Update, since CloudFormation sends the old properties back.
"""

from __future__ import annotations

from sc_plan_provider.applying import (
    Answer,
    Environment,
    current,
    execute,
    finish,
    gated_plan,
    plan_summary,
    remove_failed_replacement,
    request_deadline,
    restore,
)
from sc_plan_provider.errors import ResourceFailure
from sc_plan_provider.plan_executor import PlanAlreadyExecutedError
from sc_plan_provider.properties import PLAN_ID, PlanProperties
from sc_plan_provider.request import PlanRequest
from sc_plan_provider.telemetry import logger


def create(request: PlanRequest, properties: PlanProperties, plan_id: str, env: Environment) -> Answer:
    service_catalog = env.service_catalog(properties.accept_language)
    deadline = request_deadline(properties, env)
    # A refused or unusable plan leaves nothing to clean up: the rollback Delete of this
    # not-provisioned id does nothing (the plan's own product stays PLAN_IN_PROGRESS, unexecuted).
    plan, summary = gated_plan(
        request,
        properties,
        plan_id,
        service_catalog=service_catalog,
        deadline=deadline,
        env=env,
        failed_id=request.not_provisioned_id(),
    )
    try:
        execution = execute(request, plan, service_catalog)
    except PlanAlreadyExecutedError as error:
        raise ResourceFailure(
            f"{PLAN_ID} {plan_id} was already executed by another request (status "
            f"{error.plan.status}): a plan executes once. Create a new plan and deploy with its id.",
            request.not_provisioned_id(),
        ) from error
    env.on_product(execution.provisioned_product_id)
    return finish(execution, service_catalog, properties, deadline=deadline, env=env, summary=summary)


def update(request: PlanRequest, properties: PlanProperties, plan_id: str, env: Environment) -> Answer:
    service_catalog = env.service_catalog(properties.accept_language)
    deadline = request_deadline(properties, env)
    if plan_id == request.old_properties.get(PLAN_ID):
        logger.info("PlanId unchanged: nothing to execute", extra={"plan_id": plan_id})
        return current(request.physical_resource_id, service_catalog, plan_summary(plan_id, service_catalog))
    plan, summary = gated_plan(
        request, properties, plan_id, service_catalog=service_catalog, deadline=deadline, env=env, failed_id=None
    )
    try:
        execution = execute(request, plan, service_catalog)
    except PlanAlreadyExecutedError as error:
        # A rollback Update (or a return to an earlier plan): the product ends on that plan.
        logger.info(
            "Plan already executed: restoring its product to it",
            extra={"plan_id": plan_id, "plan_status": error.plan.status},
        )
        return restore(request, error.plan, service_catalog, properties, deadline=deadline, env=env, summary=summary)
    try:
        return finish(execution, service_catalog, properties, deadline=deadline, env=env, summary=summary)
    except ResourceFailure as failure:
        replaced = execution.provisioned_product_id != request.physical_resource_id
        if replaced:
            remove_failed_replacement(request, execution.provisioned_product_id, service_catalog, properties, env)
        # CloudFormation rolls back against the product in place; keep its id.
        raise ResourceFailure(failure.reason) from failure
