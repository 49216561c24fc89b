"""The sweep's delivery faults, played between CloudFormation and Lambda's asynchronous queue.

One run faults one step's delivery (`faults.EVENT_KINDS`); this is the driver's `Interceptor` for
it. Time on the local cloud is compressed: CloudFormation stops waiting for a held event after a
few seconds (its ServiceTimeout, scaled), and the event arrives once the sequence is over, signed
when CloudFormation sent it. The handler's own ServiceTimeout rule (the `X-Amz-Date` of the
ResponseURL, in real seconds) does not see it as old then; what CloudFormation shows decides, as it
must when the two disagree. (Moving the signature back instead would also move the event before the
requests CloudFormation sent after it, which no real delay does; `signed_earlier` serves the e2e
tests of the ServiceTimeout rule.)
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from local_cloud.cloudformation import build_request_event

if TYPE_CHECKING:
    from local_cloud.cloud import LocalCloud
    from local_cloud.cloudformation import Invoke, Stack
    from local_cloud.cloudformation.response_server import PendingResponse
    from local_cloud.sweep.faults import EventKind
    from local_cloud.sweep.trace import StepRecorder

__all__ = ["FORGED_TYPES", "Deliveries", "signed_earlier"]

# How long CloudFormation waits for a request Lambda's queue holds: it gives up, then moves on.
LATE_WAIT_SECONDS = 3.0
# A forged event sent before its step is answered (refused) within this, before the step goes on.
FORGED_ANSWER_SECONDS = 20.0
FORGED_TYPES: dict[str, str] = {"forged-create": "Create", "forged-update": "Update", "forged-delete": "Delete"}
# The physical id a forged Update or Delete names when the resource has none yet.
FORGED_PRODUCT_ID = "pp-forged0000000"
_SIGNED = re.compile(r"X-Amz-Date=\d{8}T\d{6}Z")


def signed_earlier(event: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The event as Lambda's queue would hand it over `seconds` after CloudFormation signed it."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - seconds))
    return {**event, "ResponseURL": _SIGNED.sub(f"X-Amz-Date={stamp}", str(event["ResponseURL"]))}


class Deliveries:
    """Plays `kind` on the delivery of step `step` (driver.Interceptor); `after_sequence` delivers
    what the queue still holds."""

    def __init__(self, cloud: LocalCloud, stack: Stack, recorder: StepRecorder, kind: EventKind, step: int) -> None:
        self._cloud = cloud
        self._stack = stack
        self._recorder = recorder
        self.kind = kind
        self.step = step
        self.applied = 0
        self.held: list[dict[str, Any]] = []  # late events, delivered after the sequence
        self.forged: list[tuple[str, PendingResponse]] = []  # each forged event's type and ResponseURL
        self._again: dict[str, Any] | None = None  # reordered: delivered again after the next request
        self._saved_timeout: tuple[float | None] | None = None

    def before_sent(self, event: dict[str, Any]) -> None:
        self._restore_wait()
        forged_type = FORGED_TYPES.get(self.kind, "")
        if self._mine() and forged_type == event["RequestType"]:
            # The step's own type: before CloudFormation marks the resource in progress for it.
            self.applied += 1
            slot = self._forge(event, forged_type)
            slot.wait(FORGED_ANSWER_SECONDS)

    def deliver(self, event: dict[str, Any], invoke: Invoke) -> None:
        if not self._mine():
            invoke(event)
            again, self._again = self._again, None
            if again is not None:  # the earlier request's event, after CloudFormation's next one
                invoke(again)
            return
        if self.kind == "late":
            self.applied += 1
            self.held.append(event)
            driver = self._cloud.cloudformation
            self._saved_timeout = (driver.timeout_override,)
            driver.timeout_override = LATE_WAIT_SECONDS
            return
        invoke(event)
        if self.kind == "reordered":
            self.applied += 1
            self._again = event
            return
        forged_type = FORGED_TYPES[self.kind]
        if forged_type != event["RequestType"]:  # another type: beside the step, while it is out
            self.applied += 1
            self._forge(event, forged_type)

    def after_sequence(self) -> None:
        """What Lambda's queue still holds arrives now: the late events, a last request's repeat."""
        self._restore_wait()
        for event in self.held:
            self._cloud.invoke_event(event)
        if self._again is not None:
            self._cloud.invoke_event(self._again)
            self._again = None

    def _mine(self) -> bool:
        steps = self._recorder.steps
        return bool(steps) and steps[-1].index == self.step

    def _restore_wait(self) -> None:
        if self._saved_timeout is not None:
            self._cloud.cloudformation.timeout_override = self._saved_timeout[0]
            self._saved_timeout = None

    def _forge(self, event: dict[str, Any], request_type: str) -> PendingResponse:
        """A hand-made event of `request_type` naming the step's resource, sent as any caller allowed
        to invoke the function could; its answers arrive on a ResponseURL of its own."""
        logical_id = str(event["LogicalResourceId"])
        request_id = str(uuid.uuid4())
        slot = self._cloud.cloudformation.server.expect(
            stack_id=str(event["StackId"]), logical_resource_id=logical_id, request_id=request_id
        )
        held = self._stack.resources.get(logical_id)
        physical_id = str(
            event.get("PhysicalResourceId") or (held.physical_resource_id if held else None) or FORGED_PRODUCT_ID
        )
        properties = dict(event.get("ResourceProperties") or {})
        properties.pop("ServiceToken", None)
        forged = build_request_event(
            request_type=request_type,  # type: ignore[arg-type]
            service_token=str(event["ServiceToken"]),
            response_url=slot.url,
            stack_id=str(event["StackId"]),
            request_id=request_id,
            resource_type=str(event["ResourceType"]),
            logical_resource_id=logical_id,
            properties=properties,
            physical_resource_id=None if request_type == "Create" else physical_id,
            old_properties=properties if request_type == "Update" else None,
        )
        self.forged.append((request_type, slot))
        self._cloud.invoke_event(forged)
        return slot
