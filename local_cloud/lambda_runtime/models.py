"""Value objects shared by the local Lambda runtime: results, attempts, log lines, errors.

They are plain frozen dataclasses so tests can assert on them directly and nothing in them
holds a reference to a live process or socket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

InvocationType = Literal["RequestResponse", "Event"]
Outcome = Literal["success", "error", "timeout", "crash", "init_error"]

# What the Invoke API answers in ``X-Amz-Function-Error`` for every failed invocation.
FUNCTION_ERROR_UNHANDLED = "Unhandled"


class LambdaRuntimeError(Exception):
    """Base class for failures of the local runtime itself (never of the function)."""


class TooManyRequestsError(LambdaRuntimeError):
    """Raised by a synchronous invoke when reserved concurrency is exhausted, as Lambda throttles."""


class RuntimeClosedError(LambdaRuntimeError):
    """Raised when invoking a runtime that has been closed."""


@dataclass(frozen=True)
class InvocationResult:
    """What a synchronous Invoke returns: the decoded payload, or Lambda's error object."""

    request_id: str
    env_id: str
    outcome: Outcome
    raw_payload: bytes
    payload: Any = None
    error: dict[str, Any] | None = None
    content_type: str = "application/json"
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the function answered without error."""
        return self.outcome == "success"

    @property
    def function_error(self) -> str | None:
        """The ``X-Amz-Function-Error`` header value Lambda would send (None on success)."""
        return None if self.ok else FUNCTION_ERROR_UNHANDLED

    @property
    def error_type(self) -> str | None:
        """``errorType`` of the error object, if any."""
        return None if self.error is None else str(self.error.get("errorType", ""))

    @property
    def error_message(self) -> str | None:
        """``errorMessage`` of the error object, if any."""
        return None if self.error is None else str(self.error.get("errorMessage", ""))


@dataclass(frozen=True)
class InvocationAttempt:
    """One run of one request on one environment; async retries add more with the same request id."""

    request_id: str
    attempt: int
    invocation_type: InvocationType
    env_id: str
    cold_start: bool
    event: Any
    started_at: float
    ended_at: float
    outcome: Outcome
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class LogRecord:
    """One line written by an execution environment (or by the platform: START/END/REPORT)."""

    env_id: str
    stream: Literal["stdout", "stderr", "platform"]
    text: str
    timestamp: float = field(compare=False, default=0.0)


def error_object(error_type: str, message: str, stack_trace: list[str] | None = None) -> dict[str, Any]:
    """Build the ``{"errorMessage", "errorType", "stackTrace"}`` shape Lambda uses for errors."""
    return {"errorMessage": message, "errorType": error_type, "stackTrace": stack_trace or []}


def decode_error(raw: bytes, fallback_type: str) -> dict[str, Any]:
    """Parse an error body posted by the runtime client; keep raw text if it is not JSON."""
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return error_object(fallback_type, raw.decode("utf-8", errors="replace"))
    if not isinstance(parsed, dict):
        return error_object(fallback_type, json.dumps(parsed))
    parsed.setdefault("errorType", fallback_type)
    parsed.setdefault("errorMessage", "")
    parsed.setdefault("stackTrace", [])
    return parsed
