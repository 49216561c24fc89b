"""Create, plan mode: execute the plan the resource names (`PlanId`, made and reviewed elsewhere).

Wait for the plan to be ready, let the change gate decide, claim its product for the resource,
execute it once, wait for the record and answer with the product's ids and outputs. A refused or
unusable plan leaves nothing to clean up; a product whose request CloudFormation gave up on
meanwhile is removed (steps/apply.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.request import ResourceFailure
from sc_plan_provider.properties.resource import PLAN_ID
from sc_plan_provider.steps.apply import ExecutedElsewhereError, execute, finish_or_remove, gate, ready_plan
from sc_plan_provider.steps.context import request_deadline

if TYPE_CHECKING:
    from sc_plan_provider.core.request import PlanRequest
    from sc_plan_provider.properties.resource import PlanProperties
    from sc_plan_provider.steps.context import Answer, Environment


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
