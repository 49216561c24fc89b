"""Update, plan mode: a new PlanId executes, the same one reports, an executed one is restored.

An Update with a new PlanId executes that plan (against the same product or, for a plan of another
name, a new one that CloudFormation replaces the old with); an Update naming a plan that already
ran restores it (steps/restore.py), never gated or re-executed: that is every rollback Update, since
CloudFormation sends the old properties back. The same PlanId with a new ReapplyToken re-applies the
plan to its product (a restore that does not first ask whether the product is on it). A plan
deleted since (on the real service an executed plan must be deleted before the product's next
plan) is restored from the provider's record of what it gave the product.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.request import ResourceFailure
from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.properties.resource import PLAN_ID, reapply_requested
from sc_plan_provider.servicecatalog.shapes import PLAN_CREATE_FAILED
from sc_plan_provider.steps.apply import (
    ExecutedElsewhereError,
    create_failed_reason,
    execute,
    finish_or_remove,
    gate,
    not_found_reason,
    settled,
)
from sc_plan_provider.steps.context import request_deadline

if TYPE_CHECKING:
    from sc_plan_provider.core.request import PlanRequest
    from sc_plan_provider.properties.resource import PlanProperties
    from sc_plan_provider.servicecatalog.calls import ServiceCatalog
    from sc_plan_provider.servicecatalog.shapes import ChangeSummary, Plan
    from sc_plan_provider.steps.context import Answer, Environment
    from sc_plan_provider.waiting.deadline import Deadline


def update(request: PlanRequest, properties: PlanProperties, plan_id: str, env: Environment) -> Answer:
    service_catalog = env.service_catalog(properties.accept_language)
    deadline = request_deadline(properties, env)
    if plan_id == request.old_properties.get(PLAN_ID) and reapply_requested(request.properties, request.old_properties):
        logger.info("ReapplyToken changed: re-applying the plan to its product", extra={"plan_id": plan_id})
        return _restore(
            request, properties, plan_id, None, service_catalog=service_catalog, deadline=deadline, env=env, force=True
        )
    if plan_id == request.old_properties.get(PLAN_ID):
        from sc_plan_provider.steps.report import current, plan_summary  # noqa: PLC0415 - an unchanged plan only

        logger.info("PlanId unchanged: nothing to execute", extra={"plan_id": plan_id})
        summary = plan_summary(plan_id, service_catalog, env)
        return current(request.physical_resource_id, service_catalog, summary, env=env, deadline=deadline)
    plan = settled(service_catalog, plan_id, policy=properties.polling, deadline=deadline, sleep=env.sleep)
    if plan is None:
        # Deleted since it ran (a rollback to a plan the user deleted): restore from the record.
        return _restore(request, properties, plan_id, None, service_catalog=service_catalog, deadline=deadline, env=env)
    if plan.status == PLAN_CREATE_FAILED:
        raise ResourceFailure(create_failed_reason(plan))
    summary = gate(request, properties, plan, service_catalog, gated=True)
    try:
        execution = execute(request, plan, service_catalog, env, summary, failed_id=None)
    except ExecutedElsewhereError as error:
        # A rollback Update (or a return to an earlier plan): the product ends on that plan.
        logger.info(
            "Plan already executed: restoring its product to it",
            extra={"plan_id": plan_id, "plan_status": error.plan.status},
        )
        return _restore(
            request,
            properties,
            plan_id,
            error.plan,
            service_catalog=service_catalog,
            deadline=deadline,
            env=env,
            summary=summary,
        )
    # CloudFormation rolls back against the product in place; a new product is removed if this fails.
    return finish_or_remove(
        request,
        execution,
        service_catalog,
        properties,
        deadline=deadline,
        env=env,
        summary=summary,
        new_product=execution.provisioned_product_id != request.physical_resource_id,
    )


def _restore(
    request: PlanRequest,
    properties: PlanProperties,
    plan_id: str,
    plan: Plan | None,
    *,
    service_catalog: ServiceCatalog,
    deadline: Deadline,
    env: Environment,
    summary: ChangeSummary | None = None,
    force: bool = False,
) -> Answer:
    from sc_plan_provider.steps.restore import restore, restore_point  # noqa: PLC0415 - rollbacks only

    point = restore_point(plan_id, plan, env)
    if point is None:
        raise ResourceFailure(
            f"{not_found_reason(plan_id)} It is not a plan this provider executed either, so there is nothing "
            "to restore. If this is a rollback to a plan you deleted, create a plan with that version and "
            "parameters and deploy with its id."
        )
    if summary is None:
        from sc_plan_provider.steps.report import plan_summary  # noqa: PLC0415 - rollbacks only

        summary = plan_summary(plan_id, service_catalog, env)
    return restore(
        request, point, service_catalog, properties, deadline=deadline, env=env, summary=summary, force=force
    )
