"""The faults the sweep puts at each site: each kind the real service produces, sized to reach the handler.

- ``throttle`` and ``server_error`` last as many attempts as the calling client makes (botocore's
  standard mode: 11 for the function's clients, 2 for the record-history and hand-over clients), so
  the failure reaches the handler once; on the ResponseURL (S3's 503 SlowDown and 500) they last
  the handler's whole delivery window, so one invocation fails to answer and Lambda's retry must;
- ``not_found`` is one transient ResourceNotFoundException (botocore does not retry it);
- ``slow`` holds the answer one second past the calling client's read timeout, after the call took
  effect, then drops the connection: the client retries a call that already happened;
- ``kill`` lets the call take effect, then SIGKILLs the execution environment that made it;
- ``disconnect`` closes the connection without carrying the call out, for as many attempts as the
  client makes: the handler sees botocore's connection error (a ``BotoCoreError``, not a
  ``ClientError``) once; on the ResponseURL, for a whole delivery window.

Beside the calls, each request's delivery is a site of its own (``event.Delivery``), with the faults
of Lambda's asynchronous queue and of whoever may invoke the function:

- ``late``: the queue holds the event past its ServiceTimeout (its ResponseURL signed that long
  ago): CloudFormation gives up and moves on (a rollback), and the event arrives after it all;
- ``reordered``: the event is delivered again after CloudFormation sent its next request (after the
  sequence, for the last one);
- ``forged-create``, ``forged-update``, ``forged-delete``: a hand-made event of that request type
  naming the step's resource, with a ResponseURL of CloudFormation's, sent by a caller allowed to
  invoke the function: beside the step while it is out (a type other than the step's), or just
  before CloudFormation marks the resource in progress (the step's own type: while the step is
  out, CloudFormation's read API cannot tell such an event from its own, docs/shared-provider.md).

The sizes come from the handler's own settings (`sc_plan_provider.runtime.clients`, `.delivery`,
`.protocol`), so a change there moves the sweep with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from local_cloud.gate import FAULT_KINDS, Fault, FaultKind
from local_cloud.gate.faults import supports
from local_cloud.sweep.trace import Site

__all__ = [
    "EVENT_KINDS",
    "EVENT_OPERATION",
    "EVENT_SERVICE",
    "KIND_LABELS",
    "SWEEP_KINDS",
    "EventKind",
    "SweepFault",
    "SweepKind",
    "event_site",
    "faults_for",
]

EventKind = Literal["late", "reordered", "forged-create", "forged-update", "forged-delete"]
EVENT_KINDS: tuple[EventKind, ...] = ("late", "reordered", "forged-create", "forged-update", "forged-delete")
SweepKind = FaultKind | EventKind
SWEEP_KINDS: tuple[SweepKind, ...] = (*FAULT_KINDS, *EVENT_KINDS)
# The delivery of a request's event: a site of every step, beside the calls the handler makes.
EVENT_SERVICE = "event"
EVENT_OPERATION = "Delivery"

# On the ResponseURL a refusing fault is the answer's PUT failing (503 SlowDown, 500) for a whole
# delivery window.
KIND_LABELS: dict[SweepKind, str] = {
    "throttle": "throttled past retries",
    "not_found": "transient not found",
    "server_error": "5xx past retries",
    "slow": "answer past the client timeout",
    "kill": "environment killed mid-call",
    "disconnect": "connection lost past retries",
    "late": "delivered after ServiceTimeout",
    "reordered": "delivered again, out of order",
    "forged-create": "a forged Create",
    "forged-update": "a forged Update",
    "forged-delete": "a forged Delete",
}
_BOUNDED_OPERATIONS = {("servicecatalog", "ListRecordHistory"), ("lambda", "Invoke")}


@dataclass(frozen=True)
class SweepFault:
    """One fault for one site: the gate's fault and how many matching calls in a row get it (none
    for a delivery fault, which the run plays on the event itself)."""

    kind: SweepKind
    fault: Fault | None
    times: int

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def faults_for(site: Site) -> list[SweepFault]:
    """Every fault kind the site's service can produce, sized for the client that makes the call."""
    if site.service == EVENT_SERVICE:
        return [SweepFault(kind, None, 1) for kind in EVENT_KINDS]
    return [_fault(site, kind) for kind in FAULT_KINDS if supports(site.service, kind)]


def event_site(step: int, step_label: str) -> Site:
    """The delivery of step ``step``'s event."""
    return Site(step, step_label, EVENT_SERVICE, EVENT_OPERATION, "", 1)


def _fault(site: Site, kind: FaultKind) -> SweepFault:
    if kind in ("throttle", "server_error", "disconnect"):
        fault = {"throttle": Fault.throttle, "server_error": Fault.server_error, "disconnect": Fault.disconnect}[kind]()
        return SweepFault(kind, fault, _attempts(site))
    if kind == "slow":
        return SweepFault(kind, Fault.slow(_read_timeout(site) + 1.0, then="drop"), 1)
    if kind == "not_found":
        return SweepFault(kind, Fault.not_found(), 1)
    return SweepFault(kind, Fault.kill(), 1)


def _attempts(site: Site) -> int:
    """How many calls in a row a refusing fault needs to reach the handler once."""
    from sc_plan_provider.runtime.clients import client_config, history_client_config

    if site.service == "s3":
        return put_attempts_in_window()
    config = history_client_config() if (site.service, site.operation) in _BOUNDED_OPERATIONS else client_config()
    retries = dict(getattr(config, "retries", None) or {})
    if "total_max_attempts" in retries:
        return int(retries["total_max_attempts"])
    return int(retries.get("max_attempts", 4)) + 1  # botocore counts max_attempts as retries


def _read_timeout(site: Site) -> float:
    from sc_plan_provider.runtime.clients import client_config, history_client_config

    if site.service == "s3":
        from sc_plan_provider.runtime.delivery import REQUEST_TIMEOUT_SECONDS

        return REQUEST_TIMEOUT_SECONDS
    config = history_client_config() if (site.service, site.operation) in _BOUNDED_OPERATIONS else client_config()
    return float(getattr(config, "read_timeout", 60))


def put_attempts_in_window() -> int:
    """The PUTs one invocation makes before its delivery window closes (`delivery.put_response`:
    a delay doubling from FIRST_RETRY_DELAY_SECONDS to MAX_RETRY_DELAY_SECONDS)."""
    from sc_plan_provider.runtime.delivery import FIRST_RETRY_DELAY_SECONDS, MAX_RETRY_DELAY_SECONDS
    from sc_plan_provider.runtime.protocol import DELIVERY_WINDOW_SECONDS

    attempts, elapsed, delay = 1, 0.0, FIRST_RETRY_DELAY_SECONDS
    while elapsed + delay <= DELIVERY_WINDOW_SECONDS:
        attempts, elapsed, delay = attempts + 1, elapsed + delay, min(delay * 2, MAX_RETRY_DELAY_SECONDS)
    return attempts
