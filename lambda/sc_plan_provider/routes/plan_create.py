"""Plan mode: the resource names a plan made elsewhere (`PlanId`), reviewed before the deployment.

Create executes the plan (this module); Updates are plan_updates.py (loaded by Updates only).
"""

from __future__ import annotations

from sc_plan_provider.core.errors import ResourceFailure
from sc_plan_provider.core.request import PlanRequest
from sc_plan_provider.properties.resource import PLAN_ID, PlanProperties
from sc_plan_provider.steps.apply import (
    Answer,
    Environment,
    execute,
    finish_or_remove,
    gate,
    request_deadline,
)
from sc_plan_provider.steps.execute import (
    ExecutedElsewhereError,
    ready_plan,
)


def create(request: PlanRequest, properties: PlanProperties, plan_id: str, env: Environment) -> Answer:
    service_catalog = env.service_catalog(properties.accept_language)
    deadline = request_deadline(properties, env)
    # A refused or unusable plan leaves nothing to clean up: the rollback Delete of this
    # not-provisioned id does nothing (the plan's own product stays PLAN_IN_PROGRESS, unexecuted).
    failed_id = request.not_provisioned_id()
    try:
        plan = ready_plan(service_catalog, plan_id, policy=properties.polling, deadline=deadline, sleep=env.sleep)
        summary = gate(request, properties, plan, service_catalog, gated=True)
        execution = execute(request, plan, service_catalog, env, summary, failed_id=failed_id)
    except ExecutedElsewhereError as error:
        raise ResourceFailure(
            f"{PLAN_ID} {plan_id} was already executed by another request (status "
            f"{error.plan.status}): a plan executes once. Create a new plan and deploy with its id.",
            failed_id,
        ) from error
    except ResourceFailure as failure:
        raise ResourceFailure(failure.reason, failure.physical_resource_id or failed_id) from failure
    env.on_product(execution.provisioned_product_id)
    return finish_or_remove(
        request,
        execution,
        service_catalog,
        properties,
        deadline=deadline,
        env=env,
        summary=summary,
        new_product=False,
    )
