"""Lambda's entry point, and the one place the function is wired together.

The runtime (runtime/: crhelper's protocol with one answer per request, delivery, hand-over) wraps
the route table (routes/), which knows only Service Catalog and the provider's records. Here the
outbound edges are built from Lambda's environment: one client per service, the Service Catalog
edge, and the records in their DynamoDB tables (or, without the tables, in this execution
environment only). Tests swap exactly these.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from sc_plan_provider import routes
from sc_plan_provider.core.request import PlanRequest
from sc_plan_provider.core.telemetry import logger, measure_resource, metrics, route_library_logs, tracer
from sc_plan_provider.records.ledger import DynamoDBLedger
from sc_plan_provider.records.owners import DynamoDBOwnerRegistry
from sc_plan_provider.runtime.clients import (
    cloudformation_client,
    dynamodb_client,
    history_client,
    service_catalog_client,
)
from sc_plan_provider.runtime.confirmation import stack_rolling_back, still_waits, unconfirmed_reason
from sc_plan_provider.runtime.protocol import PlanResource
from sc_plan_provider.servicecatalog.calls import ServiceCatalog
from sc_plan_provider.steps.context import Environment
from sc_plan_provider.waiting.deadline import Deadline
from sc_plan_provider.waiting.waiter import real_sleep

if TYPE_CHECKING:
    from sc_plan_provider.records.ports import Ledger, OwnerRegistry
    from sc_plan_provider.steps.context import Answer

# The tables the construct creates, named by the function's environment.
OWNERS_TABLE_ENV_VAR = "OWNERS_TABLE_NAME"
REQUESTS_TABLE_ENV_VAR = "REQUESTS_TABLE_NAME"
# Time kept back from the Lambda deadline to deliver the answer (with retries) after a wait ends.
ANSWER_RESERVE_SECONDS = 20.0
ANSWER_RESERVE_FRACTION = 0.2
# Never less than this: crhelper's watchdog fires 0.5 s before the deadline, and a hand-over or a
# last poll must be done by then.
ANSWER_RESERVE_MIN_SECONDS = 1.5

Route = Callable[[PlanRequest, Environment], "Answer"]


@cache
def default_registry() -> OwnerRegistry:
    """Who owns each product: the owners table, or records within this execution environment only."""
    table = os.environ.get(OWNERS_TABLE_ENV_VAR)
    if not table:
        from sc_plan_provider.records.in_process import InProcessOwnerRegistry  # noqa: PLC0415 - no table only

        return InProcessOwnerRegistry()
    return DynamoDBOwnerRegistry(dynamodb_client(), table)


@cache
def default_ledger() -> Ledger:
    """Each request's one answer: the requests table, or a ledger within this execution environment only."""
    table = os.environ.get(REQUESTS_TABLE_ENV_VAR)
    if not table:
        from sc_plan_provider.records.in_process import InProcessLedger  # noqa: PLC0415 - no table only

        return InProcessLedger()
    return DynamoDBLedger(dynamodb_client(), table)


def _confirm(event: dict[str, Any], stale: str | None) -> str | None:
    """What CloudFormation shows of the request instead of its being in progress; None when it is."""
    return unconfirmed_reason(event, cloudformation_client(), sleep=real_sleep, stale=stale)


def _still_waits(event: dict[str, Any]) -> bool:
    """Whether CloudFormation may still wait for an answer this request claimed before."""
    return still_waits(event, cloudformation_client())


def _rolling_back(request: PlanRequest) -> bool:
    """Whether the request's stack is rolling back (an Update then carries the stack's old properties)."""
    return stack_rolling_back(request.stack_id, cloudformation_client())


helper = PlanResource(ledger=default_ledger, confirm=_confirm, still_waits=_still_waits)
route_library_logs("crhelper")


def _service_catalog(accept_language: str | None) -> ServiceCatalog:
    return ServiceCatalog(service_catalog_client(), accept_language, history_client=history_client)


def _environment(context: Any) -> Environment:
    remaining = context.get_remaining_time_in_millis() / 1000
    reserve = min(ANSWER_RESERVE_SECONDS, max(ANSWER_RESERVE_MIN_SECONDS, remaining * ANSWER_RESERVE_FRACTION))
    return Environment(
        service_catalog=_service_catalog,
        function_deadline=Deadline.after(
            remaining - reserve,
            f"the provider function's own deadline neared (Lambda timeout, {remaining:.0f} s left at start)",
            continuable=helper.continuable,
        ),
        function_arn=str(context.invoked_function_arn),
        owners=default_registry(),
        ledger=helper.ledger,
        first_seen=helper.first_seen,
        on_product=helper.note_product,
        may_act=helper.may_act,
        rolling_back=_rolling_back,
    )


def _run(route: Route) -> Callable[[dict[str, Any], Any], str]:
    def run(event: dict[str, Any], context: Any) -> str:
        answer = route(PlanRequest.from_event(event), _environment(context))
        helper.Data.update(answer.data)
        helper.NoEcho = answer.no_echo
        return answer.physical_resource_id

    return run


helper.create(_run(routes.on_create))
helper.update(_run(routes.on_update))
helper.delete(_run(routes.on_delete))


@logger.inject_lambda_context(correlation_id_path="RequestId", log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: Any) -> None:
    if "RequestType" not in event and _drift_check(event):
        return
    logger.info(
        "Request received",
        extra={
            "request_type": event.get("RequestType"),
            "logical_resource_id": event.get("LogicalResourceId"),
            "physical_resource_id": event.get("PhysicalResourceId"),
        },
    )
    measure_resource(event)
    helper(event, context)


def _drift_check(event: dict[str, Any]) -> bool:
    """The scheduled drift check (routes/drift_check.py), if that is what this event is; every
    CloudFormation request has a RequestType, so requests never load it."""
    from sc_plan_provider.routes.drift_check import drift_check, is_drift_check  # noqa: PLC0415 - a schedule only
    from sc_plan_provider.servicecatalog.product_stack import stack_parameters  # noqa: PLC0415 - a schedule only

    if not is_drift_check(event):
        return False
    cloudformation = cloudformation_client()
    drift_check(
        default_registry(), _service_catalog(None), lambda arn: stack_parameters(cloudformation, arn), sleep=real_sleep
    )
    return True
