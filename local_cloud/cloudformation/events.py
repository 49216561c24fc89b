"""Custom resource request events, shaped exactly as CloudFormation sends them.

The handler must cope with what CloudFormation really delivers, not with what a template author
wrote: every property value arrives as a string, ServiceToken is repeated inside
ResourceProperties, and Update carries the previous properties as OldResourceProperties.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Literal

__all__ = [
    "MAX_SERVICE_TIMEOUT",
    "MIN_SERVICE_TIMEOUT",
    "RequestType",
    "build_request_event",
    "make_stack_id",
    "stringify_properties",
    "validate_resource_type",
    "validate_service_timeout",
]

RequestType = Literal["Create", "Update", "Delete"]

MIN_SERVICE_TIMEOUT = 1
MAX_SERVICE_TIMEOUT = 3600

_RESOURCE_TYPE = re.compile(r"^Custom::[A-Za-z0-9_@-]{1,60}$")
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")


def stringify_properties(value: Any) -> Any:
    """Convert every scalar to a string, recursively, as CloudFormation does before invoking.

    Booleans become ``"true"``/``"false"`` (JSON spelling, as in the template), numbers their
    decimal text; dict keys and list order are kept. ``None`` cannot occur in a real template
    (a null property is dropped), so it is dropped here too.
    """
    if isinstance(value, Mapping):
        return {str(k): stringify_properties(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [stringify_properties(v) for v in value if v is not None]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return str(value)


def validate_resource_type(resource_type: str) -> str:
    """Reject types CloudFormation would refuse at template validation."""
    if not _RESOURCE_TYPE.fullmatch(resource_type):
        raise ValueError(
            f"invalid custom resource type {resource_type!r}: want 'Custom::' + 1-60 chars of [A-Za-z0-9_@-]"
        )
    return resource_type


def validate_service_timeout(service_timeout: int | str | None) -> int:
    """Return the effective ServiceTimeout in seconds (default 3600), validating the range."""
    if service_timeout is None:
        return MAX_SERVICE_TIMEOUT
    seconds = int(service_timeout)
    if not MIN_SERVICE_TIMEOUT <= seconds <= MAX_SERVICE_TIMEOUT:
        raise ValueError(f"ServiceTimeout must be {MIN_SERVICE_TIMEOUT}-{MAX_SERVICE_TIMEOUT}, got {seconds}")
    return seconds


def make_stack_id(stack_name: str, *, region: str = "us-east-1", account_id: str = "123456789012") -> str:
    """A stack ARN in CloudFormation's format: the stack name plus a fresh UUID."""
    if not _STACK_NAME.fullmatch(stack_name):
        raise ValueError(f"invalid stack name {stack_name!r}")
    return f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/{uuid.uuid4()}"


def build_request_event(
    *,
    request_type: RequestType,
    service_token: str,
    response_url: str,
    stack_id: str,
    request_id: str,
    resource_type: str,
    logical_resource_id: str,
    properties: Mapping[str, Any],
    physical_resource_id: str | None = None,
    old_properties: Mapping[str, Any] | None = None,
    service_timeout: int | None = None,
) -> dict[str, Any]:
    """Build one request event; ``properties`` are the template's, before string conversion.

    ServiceToken (and ServiceTimeout when set) are template properties of the custom resource,
    so CloudFormation passes them inside ResourceProperties as well; OldResourceProperties is the
    previous ResourceProperties, so it carries them too.
    """
    validate_resource_type(resource_type)
    if request_type not in ("Create", "Update", "Delete"):
        raise ValueError(f"invalid RequestType {request_type!r}")
    if request_type != "Create" and not physical_resource_id:
        raise ValueError(f"{request_type} needs the PhysicalResourceId in place")
    if request_type == "Update" and old_properties is None:
        raise ValueError("Update needs OldResourceProperties")

    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": response_url,
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": logical_resource_id,
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = physical_resource_id
    event["ResourceType"] = resource_type
    event["ResourceProperties"] = resource_properties(properties, service_token, service_timeout)
    if request_type == "Update" and old_properties is not None:
        event["OldResourceProperties"] = stringify_properties(dict(old_properties))
    return event


def resource_properties(
    properties: Mapping[str, Any], service_token: str, service_timeout: int | None
) -> dict[str, Any]:
    """ResourceProperties as delivered: ServiceToken first, ServiceTimeout if set, all strings."""
    merged: dict[str, Any] = {"ServiceToken": service_token}
    if service_timeout is not None:
        merged["ServiceTimeout"] = validate_service_timeout(service_timeout)
    merged.update({k: v for k, v in properties.items() if k not in ("ServiceToken", "ServiceTimeout")})
    result: dict[str, Any] = stringify_properties(merged)
    return result
