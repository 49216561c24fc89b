"""The plans a spec-mode resource makes: named after it, and deleted once they served.

The real service allows one plan per provisioned product (docs/facts.md#the-real-services-stricter-rules),
so a plan left behind (a crash, a failed delete) blocks the product's next plan and would outlive
the stack. Every plan the provider makes is named `cfn-<logical id>-<stack hash>-<token>`, so the
resource can tell its own plans from others and remove them. Loaded by spec mode and its Delete.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.servicecatalog.calls import NotFoundError, ServiceCatalogError
from sc_plan_provider.servicecatalog.wait import PLAN_DELETE_ATTEMPTS, PLAN_GONE
from sc_plan_provider.waiting.visibility import confirm_missing

if TYPE_CHECKING:
    from sc_plan_provider.core.request import PlanRequest
    from sc_plan_provider.servicecatalog.calls import ServiceCatalog
    from sc_plan_provider.servicecatalog.planning import PlanningCatalog
    from sc_plan_provider.waiting.waiter import Sleep

PLAN_NAME_PREFIX = "cfn-"
PLAN_NAME_LOGICAL_ID_CHARS = 60
PLAN_NAME_STACK_CHARS = 6
PLAN_NAME_TOKEN_CHARS = 12


def plan_name(request: PlanRequest, token: str) -> str:
    """A name that says which resource planned it: cfn-<logical id>-<6 hex of the stack>-<12 hex of
    the plan token>, so the resource can tell its own plans (and this request's) from others."""
    return f"{own_plan_prefix(request)}{token[:PLAN_NAME_TOKEN_CHARS]}"


def own_plan_prefix(request: PlanRequest) -> str:
    stack = hashlib.sha256(request.stack_id.encode()).hexdigest()[:PLAN_NAME_STACK_CHARS]
    return f"{PLAN_NAME_PREFIX}{request.logical_resource_id[:PLAN_NAME_LOGICAL_ID_CHARS]}-{stack}-"


def delete_own_plans(
    service_catalog: PlanningCatalog, request: PlanRequest, product_id: str, *, sleep: Sleep, keep: str = ""
) -> None:
    """Delete the plans this resource made on the product (its name prefix), except `keep`: left by
    a crash or a delete that failed, they block the product's next plan and would outlive the stack."""
    try:
        plans = service_catalog.list_plans(product_id)
    except ServiceCatalogError as error:
        logger.warning("Could not list the product's plans", extra={"product": product_id, "error": str(error)})
        return
    prefix = own_plan_prefix(request)
    for plan in plans:
        if plan.plan_name.startswith(prefix) and plan.plan_name != keep:
            logger.info("Deleting a plan this resource left behind", extra={"plan_id": plan.plan_id})
            delete_plan(service_catalog, plan.plan_id, sleep=sleep)


def delete_plan(service_catalog: PlanningCatalog, plan_id: str, *, sleep: Sleep) -> None:
    """Delete a plan this provider created; a failure is logged (ids and error only), never raised.
    A not found is believed only when a read finds no plan either (`plan_gone`): the plan was just
    read as there, and the real service may answer not found for a moment (eventual consistency)."""
    for attempt in range(1, PLAN_DELETE_ATTEMPTS + 1):
        try:
            service_catalog.delete_plan(plan_id)
        except NotFoundError:
            if attempt < PLAN_DELETE_ATTEMPTS and not _plan_gone(service_catalog, plan_id, sleep=sleep):
                continue
            logger.info("Plan already deleted", extra={"plan_id": plan_id})
        except Exception as error:  # cleanup must never fail the answer, whatever went wrong
            logger.warning("Could not delete the plan", extra={"plan_id": plan_id, "error": str(error)})
        else:
            logger.info("Plan deleted", extra={"plan_id": plan_id})
        return


def _plan_gone(service_catalog: ServiceCatalog, plan_id: str, *, sleep: Sleep) -> bool:
    """After a plan delete answered not found: True when a read PLAN_GONE later finds no plan either;
    a read that finds it or fails is no proof (the delete is tried again)."""
    try:
        return confirm_missing(lambda: service_catalog.describe_plan(plan_id), PLAN_GONE, sleep=sleep)
    except ServiceCatalogError:
        return False
