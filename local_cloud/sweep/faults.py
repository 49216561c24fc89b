"""The faults the sweep puts at each site: each kind the real service produces, sized to reach the handler.

- ``throttle`` and ``server_error`` last as many attempts as the calling client makes (botocore's
  standard mode: 11 for the function's clients, 2 for the record-history and hand-over clients), so
  the failure reaches the handler once; on the ResponseURL (S3's 503 SlowDown and 500) they last
  the handler's whole delivery window, so one invocation fails to answer and Lambda's retry must;
- ``not_found`` is one transient ResourceNotFoundException (botocore does not retry it);
- ``slow`` holds the answer one second past the calling client's read timeout, after the call took
  effect, then drops the connection: the client retries a call that already happened;
- ``kill`` lets the call take effect, then SIGKILLs the execution environment that made it.

The sizes come from the handler's own settings (`sc_plan_provider.runtime.clients`, `.delivery`,
`.protocol`), so a change there moves the sweep with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from local_cloud.gate import FAULT_KINDS, Fault, FaultKind
from local_cloud.gate.faults import supports
from local_cloud.sweep.trace import Site

__all__ = ["KIND_LABELS", "SweepFault", "faults_for"]

# On the ResponseURL a refusing fault is the answer's PUT failing (503 SlowDown, 500) for a whole
# delivery window.
KIND_LABELS: dict[FaultKind, str] = {
    "throttle": "throttled past retries",
    "not_found": "transient not found",
    "server_error": "5xx past retries",
    "slow": "answer past the client timeout",
    "kill": "environment killed mid-call",
}
_BOUNDED_OPERATIONS = {("servicecatalog", "ListRecordHistory"), ("lambda", "Invoke")}


@dataclass(frozen=True)
class SweepFault:
    """One fault for one site: the gate's fault and how many matching calls in a row get it."""

    kind: FaultKind
    fault: Fault
    times: int

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def faults_for(site: Site) -> list[SweepFault]:
    """Every fault kind the site's service can produce, sized for the client that makes the call."""
    return [_fault(site, kind) for kind in FAULT_KINDS if supports(site.service, kind)]


def _fault(site: Site, kind: FaultKind) -> SweepFault:
    if kind in ("throttle", "server_error"):
        fault = Fault.throttle() if kind == "throttle" else Fault.server_error()
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
