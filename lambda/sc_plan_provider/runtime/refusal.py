"""The answer to a request CloudFormation does not confirm (confirmation.py): FAILED, saying why,
with nothing changed and nothing recorded. If CloudFormation does wait after all (a genuine request
that met a lagging read), its stack fails with the reason instead of waiting an hour; if it does
not, it ignores the answer. Loaded only when a request is refused.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sc_plan_provider.core.request import PlanRequest
from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.runtime.delivery import DeliveryError, encode, put_response
from sc_plan_provider.runtime.fitting import fit_response

if TYPE_CHECKING:
    from collections.abc import Callable

    from sc_plan_provider.waiting.waiter import Sleep


def answer_refused(
    event: dict[str, Any],
    why: str,
    *,
    window: float,
    sleep: Sleep,
    put: Callable[..., int] = put_response,
) -> None:
    """PUT the FAILED answer for at most `window` seconds: CloudFormation may not be waiting at all.
    `put` is the protocol's sender (one outbound edge for every answer)."""
    request = PlanRequest.from_event(event)
    reason = (
        f"Refused, nothing was changed: {why}. A request CloudFormation no longer waits for changes "
        "nothing; if the stack is deploying now, deploy it again."
    )
    body, _left_out = fit_response(
        {
            "Status": "FAILED",
            "Reason": reason,
            "PhysicalResourceId": request.physical_resource_id or request.not_provisioned_id(),
            "StackId": request.stack_id,
            "RequestId": request.request_id,
            "LogicalResourceId": request.logical_resource_id,
            "NoEcho": False,
            "Data": {},
        }
    )
    try:
        put(str(event["ResponseURL"]), encode(body), give_up_at=time.monotonic() + window, sleep=sleep)
    except DeliveryError as error:  # CloudFormation ignores an answer it does not wait for
        logger.warning("Refusal not delivered", extra={"error": str(error)})
