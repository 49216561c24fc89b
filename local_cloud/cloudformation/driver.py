"""CloudFormation's side of one custom resource request: invoke, then wait for the ResponseURL.

The function is reached only through an ``invoke`` callable (asynchronous, like CloudFormation's
Event invocation of Lambda), so the driver works the same against a fake, an in-process
handler, or the local Lambda runtime.
"""

from __future__ import annotations

import copy
import logging
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from local_cloud.cloudformation.events import (
    RequestType,
    build_request_event,
    validate_service_timeout,
)
from local_cloud.cloudformation.outcome import Delivery, Outcome, Phase, ProgressEvent
from local_cloud.cloudformation.response_server import ResponseServer
from local_cloud.cloudformation.states import StackStates
from local_cloud.gate import RequestGate
from local_cloud.tls import TlsMaterial, create_tls_material

__all__ = ["CloudFormationDriver", "Interceptor", "Invoke", "ProgressHook", "invent_physical_id", "timeout_reason"]

_LOG = logging.getLogger(__name__)

Invoke = Callable[[dict[str, Any]], None]
ProgressHook = Callable[[ProgressEvent], None]

_ID_ALPHABET = string.ascii_uppercase + string.digits


def invent_physical_id(stack_id: str, logical_resource_id: str) -> str:
    """The id CloudFormation makes up when a failed Create names none: ``<stack>-<logical>-<random>``."""
    stack_name = stack_id.split(":stack/", 1)[-1].split("/", 1)[0]
    suffix = "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
    return f"{stack_name}-{logical_resource_id}-{suffix}"


def timeout_reason(request_id: str, service_timeout: int) -> str:
    """CloudFormation's message when no response arrives within ServiceTimeout."""
    return (
        "CloudFormation did not receive a response from your Custom Resource. Please check your logs "
        f"for requestId [{request_id}]. No response was received within the specified timeout "
        f"of {service_timeout} seconds."
    )


class Interceptor(Protocol):
    """Stands between CloudFormation and Lambda's queue for the sweep's delivery faults: a request
    held past its ServiceTimeout, delivered again out of order, or a hand-made event beside it."""

    def before_sent(self, event: dict[str, Any]) -> None:
        """Called before CloudFormation marks the resource in progress for ``event``."""

    def deliver(self, event: dict[str, Any], invoke: Invoke) -> None:
        """Deliver ``event`` (or not) with ``invoke``, as Lambda's asynchronous queue would."""


class CloudFormationDriver:
    """Plays CloudFormation for custom resources: builds events, serves ResponseURLs, judges answers.

    ``time_scale`` multiplies every ServiceTimeout wait (0.001 turns the 3600 s default into
    3.6 s); ``timeout_override`` replaces it outright. Thread-safe: concurrent ``send`` calls use
    separate ResponseURL slots.
    """

    def __init__(
        self,
        invoke: Invoke,
        *,
        tls: TlsMaterial | None = None,
        tls_dir: Path | None = None,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        function_name: str = "sc-plan-provider",
        service_token: str | None = None,
        time_scale: float = 1.0,
        timeout_override: float | None = None,
        progress: ProgressHook | None = None,
        gate: RequestGate | None = None,
        states: StackStates | None = None,
    ) -> None:
        """``gate`` plans faults for the ResponseURL PUTs (service ``s3``, operation ``PutObject``) and logs them;
        ``states`` is what the read API shows of the stacks this driver plays (a new one by default)."""
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self._invoke = invoke
        self.region = region
        self.account_id = account_id
        self.service_token = service_token or f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.time_scale = time_scale
        self.timeout_override = timeout_override
        self.progress = progress
        self.tls = tls if tls is not None else create_tls_material(tls_dir)
        self.server = ResponseServer(self.tls, gate=gate)
        self.states = states if states is not None else StackStates()
        self.interceptor: Interceptor | None = None
        self._timers: list[threading.Timer] = []
        self._lock = threading.Lock()

    @property
    def ca_file(self) -> Path:
        """The throwaway CA the function must trust (set ``SSL_CERT_FILE`` to it)."""
        return self.tls.ca_file

    def wait_seconds(self, service_timeout: int, delivery: Delivery) -> float:
        """How long this driver really waits for an answer to a request with ``service_timeout``."""
        if delivery.service_timeout_override is not None:
            return delivery.service_timeout_override
        if self.timeout_override is not None:
            return self.timeout_override
        return service_timeout * self.time_scale

    def emit(self, event: ProgressEvent) -> None:
        """Pass ``event`` to the progress hook; a failing hook never breaks the sequence."""
        if self.progress is None:
            return
        try:
            self.progress(event)
        except Exception:
            _LOG.exception("progress hook failed")

    def send(
        self,
        *,
        request_type: RequestType,
        stack_id: str,
        resource_type: str,
        logical_resource_id: str,
        properties: Mapping[str, Any],
        physical_resource_id: str | None = None,
        old_properties: Mapping[str, Any] | None = None,
        service_timeout: int | None = None,
        delivery: Delivery | None = None,
        phase: Phase = "single",
        stack_driven: bool = False,
    ) -> Outcome:
        """Send one request to the function and return CloudFormation's verdict on it.

        Blocks until the first accepted PUT or the (scaled) ServiceTimeout. ``properties`` and
        ``old_properties`` may be template values; they are converted to strings on the way. The
        resource shows ``<TYPE>_IN_PROGRESS`` in ``states`` while the request is out (and the stack the
        status its phase implies, unless a ``Stack`` drives it: ``stack_driven``).
        """
        delivery = delivery or Delivery()
        effective_timeout = validate_service_timeout(service_timeout)
        request_id = str(uuid.uuid4())
        pending = self.server.expect(
            stack_id=stack_id,
            logical_resource_id=logical_resource_id,
            request_id=request_id,
            fail_first=delivery.fail_first_puts,
            fail_status=delivery.fail_status,
        )
        event = build_request_event(
            request_type=request_type,
            service_token=self.service_token,
            response_url=pending.url,
            stack_id=stack_id,
            request_id=request_id,
            resource_type=resource_type,
            logical_resource_id=logical_resource_id,
            properties=properties,
            physical_resource_id=physical_resource_id,
            old_properties=old_properties,
            service_timeout=service_timeout,
        )
        self.emit(
            ProgressEvent(
                kind="request",
                message=f"{phase}: {request_type} {logical_resource_id} ({physical_resource_id or '-'})",
            )
        )
        interceptor = self.interceptor
        if interceptor is not None:
            interceptor.before_sent(copy.deepcopy(event))
        self.states.request_sent(
            stack_id,
            logical_resource_id,
            resource_type,
            request_type=request_type,
            phase=phase,
            physical_id=physical_resource_id,
            stack_driven=stack_driven,
        )
        started = time.monotonic()
        invoke_error: str | None = None
        try:
            if interceptor is not None:
                interceptor.deliver(copy.deepcopy(event), self._invoke)
            else:
                self._invoke(copy.deepcopy(event))
        except Exception as exc:  # CloudFormation reports a failed invoke as a failed resource
            invoke_error = f"Failed to invoke the custom resource function: {type(exc).__name__}"
            _LOG.warning("invoke failed for request %s: %s", request_id, type(exc).__name__)
        if invoke_error is None:
            self._schedule_duplicates(event, delivery)
            verdict = pending.wait(self.wait_seconds(effective_timeout, delivery))
        else:
            verdict = pending.wait(0)

        accepted = [p for p in pending.puts if p.accepted]
        seconds = (accepted[0].monotonic if accepted else time.monotonic()) - started
        if verdict is not None:
            status, reason, physical_id, data = (
                verdict.status,
                verdict.reason,
                verdict.physical_resource_id,
                verdict.data,
            )
        else:
            reason = invoke_error or timeout_reason(request_id, effective_timeout)
            status, physical_id, data = "FAILED", None, {}

        self.states.request_answered(
            stack_id,
            logical_resource_id,
            request_type=request_type,
            phase=phase,
            physical_id=physical_id,
            succeeded=status == "SUCCESS",
        )
        invented = False
        if not physical_id:
            if request_type == "Create":
                physical_id, invented = invent_physical_id(stack_id, logical_resource_id), True
            else:
                physical_id = physical_resource_id
        outcome = Outcome(
            request_type=request_type,
            logical_resource_id=logical_resource_id,
            request_id=request_id,
            status=status,
            reason=reason,
            physical_resource_id=physical_id,
            data=data,
            seconds=seconds,
            timed_out=verdict is None and invoke_error is None,
            service_timeout=effective_timeout,
            phase=phase,
            invented_physical_id=invented,
            verdict=verdict,
            event=event,
            pending=pending,
        )
        self.emit(
            ProgressEvent(
                kind="outcome",
                message=(
                    f"{phase}: {request_type} {logical_resource_id} -> {status}"
                    f" ({physical_id or '-'}) in {seconds:.2f}s{': ' + reason if reason else ''}"
                ),
                outcome=outcome,
            )
        )
        return outcome

    def _schedule_duplicates(self, event: dict[str, Any], delivery: Delivery) -> None:
        """Deliver the same event again, as Lambda's at-least-once async invocation may."""
        for n in range(1, delivery.times):
            if delivery.duplicate_delay == 0:
                self._invoke_quietly(event)
                continue
            timer = threading.Timer(delivery.duplicate_delay * n, self._invoke_quietly, args=(event,))
            timer.daemon = True
            with self._lock:
                self._timers = [t for t in self._timers if t.is_alive()]
                self._timers.append(timer)
            timer.start()

    def _invoke_quietly(self, event: dict[str, Any]) -> None:
        try:
            self._invoke(copy.deepcopy(event))
        except Exception as exc:
            _LOG.warning("duplicate invoke failed: %s", type(exc).__name__)

    def close(self) -> None:
        """Cancel pending duplicate deliveries and stop the ResponseURL server."""
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        self.server.close()

    def __enter__(self) -> CloudFormationDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
