"""Validation of custom resource response bodies, the way CloudFormation reads them.

CloudFormation does not answer the function: S3 stores whatever is PUT and CloudFormation judges
it afterwards. So a malformed body is not an HTTP error; it turns the resource FAILED with a
reason the template author sees in the stack events. This module decides that verdict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "MAX_PHYSICAL_ID_BYTES",
    "MAX_RESPONSE_BYTES",
    "TOO_LONG_REASON",
    "ResponseVerdict",
    "validate_response_body",
]

MAX_RESPONSE_BYTES = 4096
MAX_PHYSICAL_ID_BYTES = 1024
TOO_LONG_REASON = "Response object is too long."

Status = Literal["SUCCESS", "FAILED"]


@dataclass(frozen=True)
class ResponseVerdict:
    """What CloudFormation concludes from one response body.

    ``status``/``reason`` are the resource outcome; ``problem`` is set when the body itself was
    invalid (the outcome is then FAILED whatever the body said). ``physical_resource_id`` is the
    raw value found in the body, kept even for invalid bodies because a FAILED create is rolled
    back against it.
    """

    status: Status
    reason: str
    physical_resource_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    no_echo: bool = False
    problem: str | None = None
    declared_status: str | None = None

    @property
    def valid(self) -> bool:
        """True when the body was well formed (whatever Status it declared)."""
        return self.problem is None


def _invalid(problem: str, physical_id: str | None = None, declared: str | None = None) -> ResponseVerdict:
    return ResponseVerdict(
        status="FAILED",
        reason=problem,
        physical_resource_id=physical_id,
        problem=problem,
        declared_status=declared,
    )


def _field_problem(parsed: dict[str, Any], declared: str) -> str | None:
    """The first problem with Reason, PhysicalResourceId, Data or NoEcho, if any."""
    reason = parsed.get("Reason")
    physical_id = parsed.get("PhysicalResourceId")
    data = parsed.get("Data")
    if reason is not None and not isinstance(reason, str):
        return "Invalid response object: Reason must be a string"
    if declared == "FAILED" and not reason:
        return "Invalid response object: Reason is required when Status is FAILED"
    if physical_id is not None and not isinstance(physical_id, str):
        return "Invalid PhysicalResourceId: must be a string"
    if declared == "SUCCESS" and not physical_id:
        return "Invalid PhysicalResourceId: missing or empty"
    if physical_id and len(physical_id.encode("utf-8")) > MAX_PHYSICAL_ID_BYTES:
        return f"Invalid PhysicalResourceId: longer than {MAX_PHYSICAL_ID_BYTES} bytes"
    if data is not None and not isinstance(data, dict):
        return "Invalid response object: Data must be a JSON object"
    if not isinstance(parsed.get("NoEcho", False), bool):
        return "Invalid response object: NoEcho must be a boolean"
    return None


def validate_response_body(body: bytes, *, stack_id: str, request_id: str, logical_resource_id: str) -> ResponseVerdict:
    """Judge one PUT body against the request it answers.

    Checks, in CloudFormation's order of severity: size (whole body ≤ 4096 bytes), JSON object,
    Status, matching StackId/RequestId/LogicalResourceId, Reason on FAILED, PhysicalResourceId
    (non-empty and ≤ 1024 bytes on SUCCESS; on FAILED an empty one is tolerated because
    CloudFormation invents one), Data (an object) and NoEcho (a boolean).
    """
    if len(body) > MAX_RESPONSE_BYTES:
        return _invalid(TOO_LONG_REASON)
    try:
        parsed: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _invalid("Invalid response object: the response is not valid JSON")
    if not isinstance(parsed, dict):
        return _invalid("Invalid response object: the response is not a JSON object")

    raw_physical = parsed.get("PhysicalResourceId")
    physical_id = raw_physical if isinstance(raw_physical, str) else None
    declared = parsed.get("Status")
    declared_text = declared if isinstance(declared, str) else None

    if declared not in ("SUCCESS", "FAILED"):
        return _invalid(f"Invalid response object: Status must be SUCCESS or FAILED, got {declared!r}", physical_id)
    for key, expected in (
        ("StackId", stack_id),
        ("RequestId", request_id),
        ("LogicalResourceId", logical_resource_id),
    ):
        if parsed.get(key) != expected:
            return _invalid(f"Invalid response object: {key} does not match the request", physical_id, declared_text)

    problem = _field_problem(parsed, declared)
    if problem is not None:
        bad_id = problem.startswith("Invalid PhysicalResourceId")
        return _invalid(problem, None if bad_id else physical_id, declared_text)
    reason = parsed.get("Reason")
    data = parsed.get("Data") or {}
    no_echo = parsed.get("NoEcho", False)

    return ResponseVerdict(
        status="SUCCESS" if declared == "SUCCESS" else "FAILED",
        reason=reason or "",
        physical_resource_id=physical_id or None,
        data=dict(data),
        no_echo=no_echo,
        declared_status=declared_text,
    )
