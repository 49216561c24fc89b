"""CloudFormation's read API for the stacks the driver plays, on the query protocol botocore speaks.

botocore's model gives CloudFormation the ``query`` protocol (API version 2010-05-15): ``POST /``
with a form-encoded body ``Action=<Operation>&Version=2010-05-15&...``, answered with XML in the
namespace ``http://cloudformation.amazonaws.com/doc/2010-05-15/``: ``<OperationResponse>`` holding
``<OperationResult>`` and ``<ResponseMetadata>``. Errors are ``<ErrorResponse><Error><Type>`` /
``<Code>`` / ``<Message>``; a stack or resource that does not exist is ``ValidationError`` (HTTP
400), as CloudFormation answers it. Two operations are served, from ``StackStates``:
``DescribeStackResource`` and ``DescribeStacks`` (with a stack's ``Parameters``: the stacks behind
provisioned products). With a ``RequestGate``, every call first passes
IAM (``cloudformation:<Operation>`` on the stack's ARN) and the planned faults.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from local_cloud.cloudformation.states import ResourceState, StackState, StackStates, UnknownStackError
from local_cloud.gate import RequestGate, cloudformation_request
from local_cloud.http_server import LocalHTTPServer, drop_connection

__all__ = ["ENDPOINT_ENV_VAR", "CloudFormationApiServer"]

ENDPOINT_ENV_VAR = "AWS_ENDPOINT_URL_CLOUDFORMATION"
NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
API_VERSION = "2010-05-15"
_LOG = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    disable_nagle_algorithm = True
    server: CloudFormationApiServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        params = {key: values[-1] for key, values in parse_qs(body, keep_blank_values=True).items()}
        operation = params.get("Action", "")
        gate = self.server.gate
        admission = (
            gate.admit(
                cloudformation_request(
                    operation,
                    params,
                    self.headers.get("Authorization"),
                    self.client_address,
                    region=self.server.region,
                    account_id=self.server.account_id,
                )
            )
            if gate is not None and operation
            else None
        )
        refusal = admission.refusal if admission is not None else None
        code: str | None
        if refusal is not None:
            status, code, payload = refusal.status, refusal.code, _error(refusal.code, refusal.message, refusal.status)
        else:
            status, code, payload = self._answer(operation, params)
        if admission is None or admission.deliver(status, code):
            self._send(status, payload)
        else:
            drop_connection(self)

    def _answer(self, operation: str, params: dict[str, str]) -> tuple[int, str | None, str]:
        states = self.server.states
        try:
            if params.get("Version") != API_VERSION:
                return 400, "InvalidParameterValue", _error("InvalidParameterValue", "Version 2010-05-15", 400)
            if operation == "DescribeStackResource":
                stack, resource = states.describe_stack_resource(
                    _required(params, "StackName"), _required(params, "LogicalResourceId")
                )
                return 200, None, _response(operation, _resource_detail(stack, resource))
            if operation == "DescribeStacks":
                name = params.get("StackName")
                if not name:
                    return 400, "ValidationError", _error("ValidationError", "StackName is required here", 400)
                return (
                    200,
                    None,
                    _response(operation, f"<Stacks><member>{_stack(states.describe_stack(name))}</member></Stacks>"),
                )
            return 400, "InvalidAction", _error("InvalidAction", f"Could not find operation {operation}", 400)
        except (UnknownStackError, _MissingParameterError) as error:
            return 400, "ValidationError", _error("ValidationError", str(error), 400)
        except Exception:  # a bug in the emulator: answer like AWS's 500 so callers see it
            _LOG.exception("CloudFormation read API failed on %s", operation)
            return 500, "InternalFailure", _error("InternalFailure", "The emulator failed; see its log.", 500)

    def _send(self, status: int, payload: str) -> None:
        data = payload.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        _LOG.debug("%s - " + format, self.address_string(), *args)


class _MissingParameterError(ValueError):
    pass


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise _MissingParameterError(
            f"1 validation error detected: Value null at '{name}' failed to satisfy constraint"
        )
    return value


def _timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _resource_detail(stack: StackState, resource: ResourceState) -> str:
    physical = (
        f"<PhysicalResourceId>{escape(resource.physical_id)}</PhysicalResourceId>" if resource.physical_id else ""
    )
    return (
        "<StackResourceDetail>"
        f"<StackName>{escape(stack.name)}</StackName><StackId>{escape(stack.stack_id)}</StackId>"
        f"<LogicalResourceId>{escape(resource.logical_id)}</LogicalResourceId>{physical}"
        f"<ResourceType>{escape(resource.resource_type)}</ResourceType>"
        f"<LastUpdatedTimestamp>{_timestamp(resource.updated)}</LastUpdatedTimestamp>"
        f"<ResourceStatus>{resource.status}</ResourceStatus>"
        "</StackResourceDetail>"
    )


def _stack(stack: StackState) -> str:
    parameters = "".join(
        f"<member><ParameterKey>{escape(key)}</ParameterKey><ParameterValue>{escape(value)}</ParameterValue></member>"
        for key, value in stack.parameters
    )
    return (
        f"<StackId>{escape(stack.stack_id)}</StackId><StackName>{escape(stack.name)}</StackName>"
        f"<CreationTime>{_timestamp(stack.created)}</CreationTime><StackStatus>{stack.status}</StackStatus>"
        + (f"<Parameters>{parameters}</Parameters>" if parameters else "")
    )


def _response(operation: str, result: str) -> str:
    return (
        f'<{operation}Response xmlns="{NAMESPACE}"><{operation}Result>{result}</{operation}Result>'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{operation}Response>"
    )


def _error(code: str, message: str, status: int) -> str:
    kind = "Receiver" if status >= 500 else "Sender"
    return (
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>{kind}</Type><Code>{escape(code)}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )


class CloudFormationApiServer(LocalHTTPServer):
    """Serves ``StackStates`` on 127.0.0.1 as CloudFormation's read API."""

    thread_name = "cloudformation-api"

    def __init__(
        self,
        states: StackStates,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        gate: RequestGate | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.states = states
        self.region = region
        self.account_id = account_id
        self.gate = gate
