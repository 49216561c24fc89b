"""Value objects the driver hands back: delivery options, per-request outcomes, progress events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from local_cloud.cloudformation.response_server import PendingResponse, ReceivedPut
from local_cloud.cloudformation.validation import ResponseVerdict

__all__ = ["Delivery", "Outcome", "ProgressEvent"]

Phase = Literal["create", "update", "delete", "rollback", "cleanup", "rollback-cleanup", "single"]


@dataclass(frozen=True)
class Delivery:
    """How one request reaches the function and how its ResponseURL behaves.

    ``times=2`` models Lambda's at-least-once asynchronous delivery (the same event, same
    RequestId and ResponseURL, invoked again ``duplicate_delay`` seconds later);
    ``fail_first_puts`` makes the first N PUTs answer ``fail_status`` to exercise the
    function's retries. ``service_timeout_override`` replaces the (scaled) ServiceTimeout wait.
    """

    times: int = 1
    duplicate_delay: float = 0.0
    fail_first_puts: int = 0
    fail_status: int = 500
    service_timeout_override: float | None = None

    def __post_init__(self) -> None:
        if self.times < 1:
            raise ValueError("times must be >= 1")
        if self.duplicate_delay < 0 or self.fail_first_puts < 0:
            raise ValueError("duplicate_delay and fail_first_puts must be >= 0")


@dataclass
class Outcome:
    """What CloudFormation concluded about one request.

    ``physical_resource_id`` is the id CloudFormation records: the response's, or for a failed
    Create without one, the id CloudFormation invents. ``puts`` is live: PUTs that arrive after
    the outcome (duplicates, late answers) still show up, so a test can wait and count.
    """

    request_type: str
    logical_resource_id: str
    request_id: str
    status: Literal["SUCCESS", "FAILED"]
    reason: str
    physical_resource_id: str | None
    data: dict[str, Any]
    seconds: float
    timed_out: bool
    service_timeout: int
    phase: Phase = "single"
    invented_physical_id: bool = False
    verdict: ResponseVerdict | None = field(default=None, repr=False)
    event: dict[str, Any] = field(default_factory=dict, repr=False)
    """The request event as sent. Contains the ResponseURL: do not log it."""
    pending: PendingResponse | None = field(default=None, repr=False)

    @property
    def succeeded(self) -> bool:
        """True when the request's outcome was SUCCESS."""
        return self.status == "SUCCESS"

    @property
    def puts(self) -> tuple[ReceivedPut, ...]:
        """Every request received on this request's ResponseURL so far."""
        return self.pending.puts if self.pending is not None else ()

    @property
    def answers(self) -> int:
        """Number of PUTs received so far (accepted, injected failures, duplicates, late)."""
        return sum(1 for p in self.puts if p.method == "PUT")


@dataclass(frozen=True)
class ProgressEvent:
    """Something a demo may print as it happens: a request sent, an answer, a stack status."""

    kind: Literal["request", "outcome", "stack-status"]
    message: str
    outcome: Outcome | None = None
    stack_status: str | None = None
