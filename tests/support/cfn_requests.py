"""Fake CloudFormation requests and Lambda context for handler-level tests."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

SECRET = "X-Amz-Signature=TOPSECRET0123456789"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/11111111-2222-3333-4444-555555555555"


@dataclass
class FakeContext:
    timeout_seconds: float = 900.0
    started: float = field(default_factory=time.monotonic)
    aws_request_id: str = "lambda-request-1"
    function_name: str = "provider"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:provider"
    log_group_name: str = "/aws/lambda/provider"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000)


def response_url(*, signed_at: float | None = None) -> str:
    """A ResponseURL as CloudFormation signs it: its Region's response bucket, SigV4 query (the
    signature is the SECRET the tests grep logs for)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if signed_at is None else signed_at))
    return (
        "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/"
        f"arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/demo/1%7CBucket%7Cr?X-Amz-Date={stamp}"
        f"&X-Amz-Expires=7200&{SECRET}"
    )


def make_event(
    request_type: str,
    properties: dict[str, Any],
    *,
    old_properties: dict[str, Any] | None = None,
    physical_id: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
        "ResponseURL": response_url(),
        "StackId": STACK_ID,
        "RequestId": request_id or str(uuid.uuid4()),
        "ResourceType": "Custom::ServiceCatalogPlanExecution",
        "LogicalResourceId": "Bucket",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider", **properties},
    }
    if old_properties is not None:
        event["OldResourceProperties"] = old_properties
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    return event


@dataclass
class Answers:
    bodies: list[dict[str, Any]] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)

    @property
    def only(self) -> dict[str, Any]:
        assert len(self.bodies) == 1, f"expected exactly one answer, got {len(self.bodies)}"
        return self.bodies[0]


def invoke(event: dict[str, Any], context: FakeContext | None = None) -> None:
    """Call the real entry point, as the Lambda runtime would."""
    from sc_plan_provider import handler

    handler.lambda_handler(event, context or FakeContext())
