"""SQS for the local cloud: moto's server with the template's queues, and Lambda's dead-letter delivery.

The provider function never calls SQS itself: Lambda does, when every delivery of an asynchronous
invocation has failed, sending the event to the function's ``DeadLetterConfig.TargetArn``. The
local Lambda runtime plays that part through `dead_letter_sender`, so a test reads the queue with
an unmodified boto3 exactly as an operator would.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from local_cloud.lambda_runtime.models import InvocationResult
from local_cloud.moto_server import MotoServer, moto_client, start_moto_server

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

QUEUE_TYPE = "AWS::SQS::Queue"
# moto's default account, the one its queue ARNs name.
MOTO_ACCOUNT_ID = "123456789012"
_SUFFIX_ALPHABET = string.ascii_uppercase + string.digits
_MAX_QUEUE_NAME = 80  # SQS CreateQueue: up to 80 of [A-Za-z0-9_-]
# Lambda developer guide, "Dead-letter queues": the message attribute ErrorMessage holds "the first
# 1 KB of the error message".
_ERROR_MESSAGE_LIMIT = 1024
# Same page: ErrorCode is "the three-digit HTTP status code" of the invocation; Invoke answers a
# function error (the runtime's init error included) with 200 and X-Amz-Function-Error.
_FUNCTION_ERROR_STATUS = "200"

DeadLetterSender = Callable[[Any, InvocationResult], None]


@dataclass(frozen=True)
class LocalQueue:
    """One queue created from a template: what `Ref` (the URL) and `GetAtt Arn` resolve to."""

    logical_id: str
    name: str
    url: str
    arn: str


class LocalSQS:
    """``with LocalSQS() as sqs: sqs.create_queues_from_template(template)``; queues are deleted on exit."""

    def __init__(self, region: str = "us-east-1", host: str = "127.0.0.1", port: int = 0) -> None:
        self.region = region
        self._host = host
        self._port = port
        self._server: MotoServer | None = None
        self.queues: dict[str, LocalQueue] = {}

    def __enter__(self) -> LocalSQS:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Bind a free port and serve from a daemon thread. Idempotent."""
        if self._server is None:
            self._server = start_moto_server(self._host, self._port, thread_name="local-sqs")

    def stop(self) -> None:
        """Delete the queues this instance created (moto's state outlives the server), then stop."""
        if self._server is None:
            return
        client = self.client()
        for queue in self.queues.values():
            try:
                client.delete_queue(QueueUrl=queue.url)
            except client.exceptions.QueueDoesNotExist:
                continue
        self.queues.clear()
        self._server.stop()
        self._server = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalSQS is not started")
        return f"http://{self._host}:{self._server.server_port}"

    def client(self) -> SQSClient:
        """A boto3 sqs client for this endpoint."""
        client: SQSClient = moto_client("sqs", self.endpoint_url, self.region)
        return client

    def create_queues_from_template(self, template: dict[str, Any], stack_name: str = "local") -> dict[str, LocalQueue]:
        """Create every standard ``AWS::SQS::Queue`` of a template; retention and encryption settings
        mean nothing locally. Returns logical id -> queue."""
        client = self.client()
        created: dict[str, LocalQueue] = {}
        for logical_id, resource in template.get("Resources", {}).items():
            if not isinstance(resource, dict) or resource.get("Type") != QUEUE_TYPE:
                continue
            name = resource.get("Properties", {}).get("QueueName") or _generated_name(stack_name, logical_id)
            if not isinstance(name, str):
                raise ValueError(f"{logical_id}: QueueName must be a literal string locally, got {name!r}")
            url = client.create_queue(QueueName=name)["QueueUrl"]
            arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            created[logical_id] = self.queues[logical_id] = LocalQueue(logical_id, name, url, arn)
        return created

    def dead_letter_sender(self, target: Any) -> DeadLetterSender | None:
        """What Lambda does with an exhausted async invocation whose DeadLetterConfig names `target`
        (the template's TargetArn, e.g. ``{"Fn::GetAtt": [queue, "Arn"]}``); None if it names no
        queue of this template."""
        queue = self._queue_for(target)
        if queue is None:
            return None
        client = self.client()

        def send(event: Any, result: InvocationResult) -> None:
            # Lambda developer guide, "Dead-letter queues": the event as received, with the request id,
            # the status code and the start of the error message as attributes.
            body = event.decode("utf-8") if isinstance(event, bytes) else json.dumps(event)
            client.send_message(
                QueueUrl=queue.url,
                MessageBody=body,
                MessageAttributes={
                    "RequestID": {"DataType": "String", "StringValue": result.request_id},
                    "ErrorCode": {"DataType": "Number", "StringValue": _FUNCTION_ERROR_STATUS},
                    "ErrorMessage": {
                        "DataType": "String",
                        "StringValue": (result.error_message or result.outcome)[:_ERROR_MESSAGE_LIMIT] or "-",
                    },
                },
            )

        return send

    def receive(self, logical_id: str, *, wait_seconds: int = 0, max_messages: int = 10) -> list[dict[str, Any]]:
        """Messages of one template queue (body, attributes), as an operator's ReceiveMessage sees them."""
        response = self.client().receive_message(
            QueueUrl=self.queues[logical_id].url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            MessageAttributeNames=["All"],
        )
        return [dict(message) for message in response.get("Messages", [])]

    def _queue_for(self, target: Any) -> LocalQueue | None:
        if isinstance(target, dict) and set(target) == {"Fn::GetAtt"}:
            logical_id, attribute = target["Fn::GetAtt"]
            return self.queues.get(logical_id) if attribute == "Arn" else None
        if isinstance(target, str):
            return next((q for q in self.queues.values() if q.arn == target), None)
        return None


def _generated_name(stack_name: str, logical_id: str) -> str:
    """CloudFormation's ``<stack>-<LogicalId>-<12 random>`` form, cut to SQS's 80 characters."""
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(12))
    prefix = f"{stack_name}-{logical_id}"[: _MAX_QUEUE_NAME - 13]
    return f"{prefix}-{suffix}"
