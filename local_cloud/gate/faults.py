"""Faults the real services produce, planned by position: "the k-th call of X gets F, n times running".

A ``FaultPlan`` holds rules; each rule counts the function's calls it matches (one service and
operation, one service, or every service) from the moment it is added, and gives its fault to the
``at``-th and the following ``times - 1`` of them. Every retry is a call of its own: the function's
clients (``sc_plan_provider/runtime/clients.py``: standard mode, ``max_attempts`` 10, which botocore
counts as retries, so 11 attempts) see the failure itself only when ``times`` is 11 or more.

What each kind looks like on the wire, per service (the error codes botocore parses):

- ``throttle``: Service Catalog 400 ThrottlingException; DynamoDB 400 ThrottlingException (or
  ProvisionedThroughputExceededException); Lambda 429 TooManyRequestsException; ResponseURL 503 SlowDown.
- ``not_found``: Service Catalog 400 ResourceNotFoundException; DynamoDB 400 ResourceNotFoundException;
  Lambda 404 ResourceNotFoundException; none for the ResponseURL.
- ``server_error``: Service Catalog 500 InternalFailure; DynamoDB 500 InternalServerError; Lambda 500
  ServiceException; ResponseURL 500 InternalError.
- ``slow``: the call is carried out; its answer is held ``seconds``, then sent (or the connection dropped).
- ``kill``: the call is carried out; the calling execution environment is SIGKILLed before the answer.
- ``disconnect``: the call is not carried out; the connection is closed without an answer (a reset,
  a dropped network path): botocore sees a connection error, which its standard mode retries, and
  past the retries raises ``ConnectionClosedError``, a ``BotoCoreError`` rather than a ``ClientError``.

Sources: the operations' error shapes in botocore's models (``servicecatalog``, ``dynamodb``,
``lambda`` ``service-2.json``: ResourceNotFoundException, ProvisionedThroughputExceededException,
InternalServerError, TooManyRequestsException with ``Reason``, ServiceException); the common errors
of AWS APIs (ThrottlingException 400, InternalFailure 500: e.g. the Service Catalog API reference,
"Common Errors"); DynamoDB's throttling as it arrives (``com.amazon.coral.availability#ThrottlingException``,
Developer Guide "Error handling with DynamoDB"); S3's ``SlowDown`` 503 and ``InternalError`` 500
(S3 API reference, "Error responses"). botocore's standard retry mode retries every one of these
(``botocore/retries/standard.py``: throttling codes, HTTP 500/502/503/504, read timeouts).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from local_cloud.gate.requests import ServiceRequest

__all__ = [
    "FAULT_KINDS",
    "ErrorAnswer",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "fault_answer",
    "supports",
]

FaultKind = Literal["throttle", "not_found", "server_error", "slow", "kill", "disconnect"]
FAULT_KINDS: tuple[FaultKind, ...] = ("throttle", "not_found", "server_error", "slow", "kill", "disconnect")
_DYNAMODB = "com.amazonaws.dynamodb.v20120810#"


@dataclass(frozen=True)
class ErrorAnswer:
    """An error answer in a service's vocabulary; each server renders it in its own protocol.

    ``code`` is what botocore reports as ``Error.Code``; ``wire_type`` is DynamoDB's namespaced
    ``__type`` or Lambda's ``Type`` (User/Service); ``fields`` are extra body members (Lambda's ``Reason``).
    """

    status: int
    code: str
    message: str
    wire_type: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    """One fault: ``kind``, plus ``seconds``/``then`` for ``slow`` and ``code`` to pick DynamoDB's throttle."""

    kind: FaultKind
    seconds: float = 0.0
    then: Literal["answer", "drop"] = "answer"
    code: str | None = None
    release: threading.Event | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.seconds < 0:
            raise ValueError("seconds must be >= 0")
        if self.code not in (None, "ThrottlingException", "ProvisionedThroughputExceededException"):
            raise ValueError(f"unknown throttle code {self.code!r}")

    @classmethod
    def throttle(cls, code: str | None = None) -> Fault:
        """Throttled; for DynamoDB ``code`` may be ``ProvisionedThroughputExceededException``."""
        return cls("throttle", code=code)

    @classmethod
    def not_found(cls) -> Fault:
        """A transient ResourceNotFoundException (eventual consistency after a write)."""
        return cls("not_found")

    @classmethod
    def server_error(cls) -> Fault:
        """HTTP 500 from the service."""
        return cls("server_error")

    @classmethod
    def slow(
        cls, seconds: float, then: Literal["answer", "drop"] = "answer", *, release: threading.Event | None = None
    ) -> Fault:
        """The call takes effect; its answer comes ``seconds`` late, or never (``then="drop"``); with
        ``release``, as soon as the test sets it (``seconds`` then bounds the hold)."""
        return cls("slow", seconds=seconds, then=then, release=release)

    @classmethod
    def disconnect(cls) -> Fault:
        """The call is not carried out and its connection is closed without an answer."""
        return cls("disconnect")

    @classmethod
    def kill(cls) -> Fault:
        """The call takes effect; the environment that made it is SIGKILLed before the answer."""
        return cls("kill")

    @property
    def refuses(self) -> bool:
        """Whether the service answers an error instead of carrying the call out."""
        return self.kind in ("throttle", "not_found", "server_error", "disconnect")


def supports(service: str, kind: FaultKind) -> bool:
    """Whether ``service`` has an answer for ``kind`` (the ResponseURL has no not-found)."""
    return not (service == "s3" and kind == "not_found")


def fault_answer(fault: Fault, request: ServiceRequest) -> ErrorAnswer | None:
    """The error ``request``'s service answers for ``fault``; None for ``slow``/``kill``."""
    if not fault.refuses:
        return None
    service, kind = request.service, fault.kind
    if kind == "disconnect":  # not carried out; `Admission.deliver` drops the connection instead
        return ErrorAnswer(503, "ConnectionReset", "The connection was closed without an answer.")
    if service == "servicecatalog":
        return {
            "throttle": ErrorAnswer(400, "ThrottlingException", "Rate exceeded"),
            "not_found": ErrorAnswer(400, "ResourceNotFoundException", "The specified resource was not found."),
            "server_error": ErrorAnswer(
                500, "InternalFailure", "The request processing has failed because of an unknown error."
            ),
        }[kind]
    if service == "dynamodb":
        if kind == "throttle" and fault.code == "ProvisionedThroughputExceededException":
            return ErrorAnswer(
                400,
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded. "
                "Consider increasing your provisioning level with the UpdateTable API.",
                _DYNAMODB + "ProvisionedThroughputExceededException",
            )
        return {
            "throttle": ErrorAnswer(
                400,
                "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
                "com.amazon.coral.availability#ThrottlingException",
            ),
            "not_found": ErrorAnswer(
                400,
                "ResourceNotFoundException",
                "Requested resource not found",
                _DYNAMODB + "ResourceNotFoundException",
            ),
            "server_error": ErrorAnswer(
                500, "InternalServerError", "Internal server error", _DYNAMODB + "InternalServerError"
            ),
        }[kind]
    if service == "lambda":
        resource = request.resources[0]
        return {
            "throttle": ErrorAnswer(
                429,
                "TooManyRequestsException",
                "Rate Exceeded.",
                "User",
                {"Reason": "ConcurrentInvocationLimitExceeded"},
            ),
            "not_found": ErrorAnswer(404, "ResourceNotFoundException", f"Function not found: {resource}", "User"),
            "server_error": ErrorAnswer(500, "ServiceException", "An internal error occurred.", "Service"),
        }[kind]
    if service == "cloudformation":  # the query protocol; a stack not found is a ValidationError
        return {
            "throttle": ErrorAnswer(400, "Throttling", "Rate exceeded"),
            "not_found": ErrorAnswer(400, "ValidationError", f"Stack with id {request.resources[0]} does not exist"),
            "server_error": ErrorAnswer(500, "InternalFailure", "The request processing has failed."),
        }[kind]
    if service == "s3":
        return {
            "throttle": ErrorAnswer(503, "SlowDown", "Please reduce your request rate."),
            "server_error": ErrorAnswer(500, "InternalError", "We encountered an internal error. Please try again."),
        }[kind]
    raise ValueError(f"no fault vocabulary for service {service!r}")


@dataclass
class FaultRule:
    """Give ``fault`` to the ``at``-th (1-based) and the next ``times - 1`` matching calls.

    ``service=None`` matches every service; ``operation=None`` every operation of ``service``;
    ``resource`` only the calls naming that resource (a DynamoDB table's ARN, a function's). Every
    matching call counts, so ``at`` is a position in the call log; a call whose service cannot
    produce the fault (``supports``: the ResponseURL has no not-found) passes unharmed. ``seen``
    counts matched calls, ``applied`` the calls that got the fault.

    ``counting="runs"`` counts runs of matching calls instead: calls in a row with no other call of
    the function between them (a wait's polls, a call and its retries) are one run, and the fault
    goes to the first ``times`` calls of the ``at``-th run. A position among waits then does not
    depend on how many polls each wait took.
    """

    fault: Fault
    service: str | None = None
    operation: str | None = None
    at: int = 1
    times: int = 1
    resource: str | None = None
    counting: Literal["calls", "runs"] = "calls"
    seen: int = 0
    applied: int = 0
    runs: int = field(default=0, init=False)  # runs of matching calls begun (counting="runs")
    # Matching calls in a row so far in the current run; 0 when the function's last call did not match.
    _in_run: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.at < 1 or self.times < 1:
            raise ValueError("at and times must be >= 1")
        if self.counting not in ("calls", "runs"):
            raise ValueError(f"counting must be 'calls' or 'runs', not {self.counting!r}")
        if self.operation is not None and self.service is None:
            raise ValueError("an operation needs its service")
        if self.resource is not None and self.service is None:
            raise ValueError("a resource needs its service")
        if self.service is not None and not supports(self.service, self.fault.kind):
            raise ValueError(f"{self.service} has no {self.fault.kind} fault")

    def matches(self, request: ServiceRequest) -> bool:
        return (
            (self.service is None or self.service == request.service)
            and (self.operation is None or self.operation == request.operation)
            and (self.resource is None or self.resource in request.resources)
        )

    def count(self, request: ServiceRequest) -> bool:
        """Count one of the function's calls (every call, matching or not); whether its turn came."""
        if not self.matches(request):
            self._in_run = 0
            return False
        self.seen += 1
        if self.counting == "calls":
            return self.at <= self.seen < self.at + self.times
        if self._in_run == 0:
            self.runs += 1
        self._in_run += 1
        return self.runs == self.at and self._in_run <= self.times


class FaultPlan:
    """The rules in force; thread-safe. Rules only ever see the function's calls (not the tests')."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(
        self,
        fault: Fault,
        *,
        service: str | None = None,
        operation: str | None = None,
        at: int = 1,
        times: int = 1,
        resource: str | None = None,
        counting: Literal["calls", "runs"] = "calls",
    ) -> FaultRule:
        """Plan ``fault`` for the ``at``-th matching call and ``times - 1`` more; returns the live rule.
        ``resource`` narrows the rule to calls naming it (e.g. one DynamoDB table's ARN);
        ``counting="runs"`` makes ``at`` count runs of calls in a row (see FaultRule)."""
        rule = FaultRule(fault, service, operation, at, times, resource, counting)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Drop every rule."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def choose(self, request: ServiceRequest) -> Fault | None:
        """Count ``request`` against every rule; the first rule whose turn it is gives its fault."""
        chosen: Fault | None = None
        with self._lock:
            for rule in self._rules:
                due = rule.count(request)
                if chosen is None and due and supports(request.service, rule.fault.kind):
                    rule.applied += 1
                    chosen = rule.fault
        return chosen
