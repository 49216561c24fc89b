"""Lambda entry point: CloudFormation request -> validated properties -> plan executor ->
record waiter -> response.

The runtime concerns (protocol, delivery, telemetry) wrap the lifecycle functions, which know
only Service Catalog; see lifecycle.py for what each request type does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sc_plan_provider import routes as lifecycle
from sc_plan_provider.core.request import PlanRequest
from sc_plan_provider.core.telemetry import logger, measure_resource, metrics, route_library_logs, tracer
from sc_plan_provider.records.owners import default_registry
from sc_plan_provider.runtime.clients import service_catalog_client
from sc_plan_provider.runtime.protocol import PlanResource
from sc_plan_provider.servicecatalog.calls import ServiceCatalog, history_client
from sc_plan_provider.waiting.deadline import Deadline

# Time kept back from the Lambda deadline to deliver the answer (with retries) after a wait ends.
ANSWER_RESERVE_SECONDS = 20.0
ANSWER_RESERVE_FRACTION = 0.2
# Never less than this: crhelper's watchdog fires 0.5 s before the deadline, and a hand-over or a
# last poll must be done by then.
ANSWER_RESERVE_MIN_SECONDS = 1.5

helper = PlanResource()
route_library_logs("crhelper")

Operation = Callable[[PlanRequest, lifecycle.Environment], lifecycle.Answer]


def _service_catalog(accept_language: str | None) -> ServiceCatalog:
    return ServiceCatalog(service_catalog_client(), accept_language, history_client=history_client)


def _environment(context: Any) -> lifecycle.Environment:
    remaining = context.get_remaining_time_in_millis() / 1000
    reserve = min(ANSWER_RESERVE_SECONDS, max(ANSWER_RESERVE_MIN_SECONDS, remaining * ANSWER_RESERVE_FRACTION))
    return lifecycle.Environment(
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
    )


def _run(operation: Operation) -> Callable[[dict[str, Any], Any], str]:
    def run(event: dict[str, Any], context: Any) -> str:
        answer = operation(PlanRequest.from_event(event), _environment(context))
        helper.Data.update(answer.data)
        helper.NoEcho = answer.no_echo
        return answer.physical_resource_id

    return run


helper.create(_run(lifecycle.create))
helper.update(_run(lifecycle.update))
helper.delete(_run(lifecycle.delete))


@logger.inject_lambda_context(correlation_id_path="RequestId", log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def lambda_handler(event: dict[str, Any], context: Any) -> None:
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
