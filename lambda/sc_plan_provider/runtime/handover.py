"""Hand a request over to a new invocation of this function when this one's time runs out.

CloudFormation waits up to an hour (ServiceTimeout); a Lambda invocation lives 15 minutes at
most. Rather than rules created at run time (crhelper) or a state machine, the function invokes
itself asynchronously with the same event plus a continuation (core/request.py reads it: the hop, the first
arrival, the product made so far): every step is idempotent (Service Catalog tokens) and the
request ledger keeps the first-arrival time and the single answer, so the new invocation simply
resumes. The only permission needed is lambda:InvokeFunction on itself, granted at synth. An
answer whose delivery keeps failing is handed on the same way. Loaded only when a request or a
delivery is handed over.
"""

from __future__ import annotations

import json
import time
from functools import cache
from typing import TYPE_CHECKING, Any

from sc_plan_provider.core.request import CONTINUATION_KEY, carried_hop
from sc_plan_provider.core.telemetry import logger, metrics
from sc_plan_provider.runtime.clients import bounded_config, client_config
from sc_plan_provider.runtime.confirmation import service_timeout_seconds
from sc_plan_provider.waiting.waiter import real_sleep

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_lambda import LambdaClient

    from sc_plan_provider.runtime.delivery import DeliveryError
    from sc_plan_provider.waiting.waiter import Sleep

# A runaway guard: an hour of 15-minute invocations needs 5 hops; short test timeouts need more.
MAX_HOPS = 200
# The hand-over Invoke is tried again (a throttle, a 5xx, a transient not found of this very
# function, no answer) while another attempt (the client's 1 s connect + 2 s read, two attempts)
# still fits before `give_up_at`; waits double from the first to the last.
HANDOVER_RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0)
HANDOVER_ATTEMPT_SECONDS = 3.0
# Errors no retry changes: the answer is a clear FAILED at once.
PERMANENT_INVOKE_ERRORS = frozenset(
    {"AccessDeniedException", "InvalidParameterValueException", "RequestTooLargeException", "KMSAccessDeniedException"}
)


@cache
def handover_lambda_client() -> LambdaClient:
    """For the hand-over to a new invocation, which may run in the watchdog's last seconds: two
    attempts on 1-2 s timeouts (an Event Invoke answers in milliseconds)."""
    import boto3  # noqa: PLC0415 - boto3 is not needed at synth time, where SERVICES is read

    config = client_config().merge(bounded_config(total_max_attempts=2, connect_timeout=1, read_timeout=2))
    return boto3.client("lambda", config=config)


def continue_in_new_invocation(
    event: dict[str, Any],
    function_arn: str,
    first_seen: float,
    *,
    product_id: str = "",
    answered_by: str = "",
    give_up_at: float = 0.0,
    handed_over: Callable[[int], None] = lambda hop: None,
    sleep: Sleep = real_sleep,
) -> None:
    """Invoke this function asynchronously with the same request plus its continuation: the hop, the
    first arrival, the product made so far, and for an answer whose delivery failed the invocation
    that claimed it (the new invocation reads them: core/request.py). `handed_over` records the new
    hop once the Invoke was accepted: a retry of this hop (Lambda retries an invocation that timed
    out after its watchdog handed over) then ends at once instead of forking a second chain."""
    next_hop = carried_hop(event) + 1
    if next_hop > MAX_HOPS:
        raise RuntimeError(f"gave up after {MAX_HOPS} continuations")
    carried: dict[str, Any] = {"Hop": next_hop, "FirstSeen": first_seen}
    if product_id:
        carried["ProvisionedProductId"] = product_id
    if answered_by:
        carried["AnsweredBy"] = answered_by
    payload = json.dumps({**event, CONTINUATION_KEY: carried}).encode()
    invoke_continuation(function_arn, payload, hop=next_hop, give_up_at=give_up_at, sleep=sleep)
    handed_over(next_hop)


def hand_on_delivery(
    error: DeliveryError,
    event: dict[str, Any],
    function_arn: str,
    first_seen: float,
    *,
    product_id: str,
    answered_by: str,
    continuable: bool,
    give_up_at: float,
    handed_over: Callable[[int], None],
    sleep: Sleep = real_sleep,
) -> DeliveryError | None:
    """An answer claimed and recorded but not delivered: a new invocation re-sends it (as the holder
    `answered_by`) until CloudFormation's ServiceTimeout, however many invocations that takes.
    Returns the error the invocation must fail with where that is impossible (no durable ledger
    to resume from, or the Invoke failed): Lambda's retry, the same holder, re-sends it."""
    if time.time() >= first_seen + service_timeout_seconds(event):
        logger.error("Response not delivered within CloudFormation's ServiceTimeout", extra={"error": str(error)})
        return None
    if not continuable:
        logger.error("Response not delivered; failing the invocation so Lambda retries it", extra={"error": str(error)})
        return error
    logger.warning("Response not delivered yet; handing the delivery on", extra={"error": str(error)})
    try:
        continue_in_new_invocation(
            event,
            function_arn,
            first_seen,
            product_id=product_id,
            answered_by=answered_by,
            give_up_at=give_up_at,
            handed_over=handed_over,
            sleep=sleep,
        )
    except Exception:
        logger.exception("Could not hand the delivery on; failing the invocation so Lambda retries it")
        return error
    return None


def invoke_continuation(
    function_arn: str, payload: bytes, *, hop: int, give_up_at: float = 0.0, sleep: Sleep = real_sleep
) -> None:
    """Invoke this function asynchronously with the continued event (Event invocation: at least once).

    `function_arn` is the ARN this invocation was invoked by, qualified when CloudFormation's
    ServiceToken names an alias or version, so the continuation runs the same code. A failed
    Invoke is tried again until `give_up_at` (monotonic seconds) leaves no room for another
    attempt, then raised: a second continuation (an Invoke that took effect but was not answered)
    is harmless, as every step is idempotent and the ledger grants one answer.
    """
    delays = iter(HANDOVER_RETRY_DELAYS)
    delay = 0.0
    while True:
        try:
            handover_lambda_client().invoke(FunctionName=function_arn, InvocationType="Event", Payload=payload)
            break
        except Exception as error:
            delay = next(delays, delay)
            if _permanent(error) or time.monotonic() + delay + HANDOVER_ATTEMPT_SECONDS > give_up_at:
                raise
            logger.warning("Hand-over not accepted yet; trying again", extra={"error": type(error).__name__})
            sleep(delay)
    metrics.add_metric(name="Continuations", unit="Count", value=1)
    logger.info("Request handed over to a new invocation", extra={"hop": hop})


def _permanent(error: Exception) -> bool:
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code in PERMANENT_INVOKE_ERRORS
