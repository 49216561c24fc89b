"""DynamoDB for the local cloud: moto's server, on 127.0.0.1, with the template's tables in it.

moto implements DynamoDB's JSON 1.0 protocol and its expression grammar (conditions, ``if_not_exists``,
``ReturnValues``), so the unmodified handler reaches it through ``AWS_ENDPOINT_URL_DYNAMODB``.

It runs on ``local_cloud.moto_server`` (moto's WSGI dispatcher under werkzeug, requests serialized:
moto checks a ConditionExpression and writes the item in separate Python steps without a lock,
whereas DynamoDB applies a conditional write atomically, so duplicates racing on one ledger item
must see exactly one winner).

moto keeps its data per process, shared by every server in it, so tables get CloudFormation-style
unique names (``<stack>-<LogicalId>-<SUFFIX>``) and are deleted again on ``stop()``.

With a ``RequestGate`` every request first passes IAM and the planned faults (``_Gated``), outside
the serializing lock, so a held answer never holds up other callers. Refusals are rendered as
DynamoDB does (JSON 1.0: HTTP 400/500, a namespaced ``__type``, ``x-amz-crc32`` of the body).
"""

from __future__ import annotations

import io
import json
import socket
import uuid
import zlib
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from local_cloud.cloudformation.references import generated_name
from local_cloud.gate import ErrorAnswer, RequestGate, dynamodb_request
from local_cloud.moto_server import MotoServer, moto_client, start_moto_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from mypy_boto3_dynamodb import DynamoDBClient

ENDPOINT_ENV_VAR = "AWS_ENDPOINT_URL_DYNAMODB"
TABLE_TYPE = "AWS::DynamoDB::Table"
TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
_MAX_TABLE_NAME = 255


class LocalDynamoDB:
    """``with LocalDynamoDB() as ddb: ddb.create_tables_from_template(template)``; stops on exit."""

    def __init__(
        self,
        region: str = "us-east-1",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        account_id: str = "123456789012",
        gate: RequestGate | None = None,
    ) -> None:
        """``account_id`` goes into the table ARNs IAM sees; ``gate``: IAM, faults, the call log."""
        self.region = region
        self.account_id = account_id
        self.gate = gate
        self._host = host
        self._port = port
        self._server: MotoServer | None = None
        self._tables: list[str] = []

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> LocalDynamoDB:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Bind a free port and serve from a daemon thread. Idempotent."""
        if self._server is not None:
            return
        gate = self.gate

        def gated(app: WSGIApplication) -> WSGIApplication:
            return app if gate is None else _Gated(app, gate, region=self.region, account_id=self.account_id)

        self._server = start_moto_server(self._host, self._port, thread_name="local-dynamodb", wrap=gated)

    def stop(self) -> None:
        """Delete the tables this instance created (moto's state outlives the server), then stop."""
        if self._server is None:
            return
        client = self.client()
        for name in self._tables:
            try:
                client.delete_table(TableName=name)
            except client.exceptions.ResourceNotFoundException:
                continue
        self._tables.clear()
        self._server.stop()
        self._server = None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``, for ``endpoint_url=`` or ``AWS_ENDPOINT_URL_DYNAMODB``."""
        if self._server is None:
            raise RuntimeError("LocalDynamoDB is not started")
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def table_names(self) -> list[str]:
        """Names of the tables created through this instance."""
        return list(self._tables)

    def client(self) -> DynamoDBClient:
        """A boto3 dynamodb client for this endpoint."""
        client: DynamoDBClient = moto_client("dynamodb", self.endpoint_url, self.region)
        return client

    # -- tables ----------------------------------------------------------------------------------

    def create_tables_from_template(self, template: dict[str, Any], stack_name: str = "local") -> dict[str, str]:
        """Create every ``AWS::DynamoDB::Table`` of a CloudFormation template; return logical id → name.

        Key schema, attribute definitions, billing mode (with throughput), secondary indexes and the
        TTL specification are honoured; streams, encryption, tags and the like mean nothing locally.
        """
        client = self.client()
        created: dict[str, str] = {}
        for logical_id, resource in template.get("Resources", {}).items():
            if not isinstance(resource, dict) or resource.get("Type") != TABLE_TYPE:
                continue
            props = resource.get("Properties", {})
            name = props.get("TableName")
            if name is None:
                name = generated_name(stack_name, logical_id, _MAX_TABLE_NAME)
            elif not isinstance(name, str):
                raise ValueError(f"{logical_id}: TableName must be a literal string locally, got {name!r}")
            client.create_table(**_create_table_request(logical_id, name, props))
            self._tables.append(name)
            ttl = props.get("TimeToLiveSpecification")
            if isinstance(ttl, dict) and _literal(logical_id, ttl.get("Enabled", False)) in (True, "true"):
                client.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": str(ttl["AttributeName"])},
                )
            created[logical_id] = name
        return created


def _literal(logical_id: str, value: Any) -> Any:
    """Intrinsic functions cannot be resolved before a deployment; say so instead of guessing."""
    if isinstance(value, dict):
        raise ValueError(f"{logical_id}: intrinsic {value!r} is not supported in a local table definition")
    return value


def _create_table_request(logical_id: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation table properties → CreateTable parameters (same shapes, minus CFN-only keys)."""
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": _literal(logical_id, props["KeySchema"]),
        "AttributeDefinitions": _literal(logical_id, props["AttributeDefinitions"]),
        "BillingMode": _literal(logical_id, props.get("BillingMode", "PROVISIONED")),
    }
    if request["BillingMode"] == "PROVISIONED":
        request["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = props.get(key)
        if not indexes:
            continue
        request[key] = []
        for index in _literal(logical_id, indexes):
            entry = {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
            if key == "GlobalSecondaryIndexes" and request["BillingMode"] == "PROVISIONED":
                entry["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
            request[key].append(entry)
    return request


def _throughput(value: Any) -> dict[str, int]:
    """Template numbers may be strings; the API wants integers."""
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 1)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 1)),
    }


class _Gated:
    """Ask the gate first; answer its refusal, or moto's answer once the gate has held or dropped it."""

    def __init__(self, app: WSGIApplication, gate: RequestGate, *, region: str, account_id: str) -> None:
        self._app = app
        self._gate = gate
        self._region = region
        self._account_id = account_id

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith(TARGET_PREFIX):
            return self._app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        request = dynamodb_request(
            target.removeprefix(TARGET_PREFIX),
            _json_object(body),
            environ.get("HTTP_AUTHORIZATION"),
            (environ.get("REMOTE_ADDR"), environ.get("REMOTE_PORT")),
            region=self._region,
            account_id=self._account_id,
        )
        admission = self._gate.admit(request)
        if admission.refusal is not None:
            status, headers, chunks = _error_response(admission.refusal)
        else:
            status, headers, chunks = self._moto(environ)
        code = int(status.split(" ", 1)[0])
        if admission.deliver(code, _error_code(code, chunks)):
            start_response(status, headers)
            return chunks
        connection = environ.get("werkzeug.socket")
        if isinstance(connection, socket.socket):
            connection.shutdown(socket.SHUT_RDWR)
        raise ConnectionAbortedError("answer dropped on purpose")  # werkzeug ends the connection quietly

    def _moto(self, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        captured: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.append((status, headers))
            return lambda data: None

        chunks = list(self._app(environ, capture))
        status, headers = captured[0]
        return status, headers, chunks


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _error_code(status: int, chunks: list[bytes]) -> str | None:
    """botocore's reading of a JSON 1.0 error: the part of ``__type`` after ``#``."""
    if status < 400:
        return None
    wire_type = _json_object(b"".join(chunks)).get("__type")
    return str(wire_type).rsplit("#", 1)[-1] if wire_type else str(status)


def _error_response(answer: ErrorAnswer) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """DynamoDB's error: ``{"__type": "<namespace>#<Code>", "message": ...}`` with the body's CRC32,
    which botocore's legacy retry mode checks for DynamoDB (``x-amz-crc32``)."""
    body = json.dumps({"__type": answer.wire_type or answer.code, "message": answer.message}).encode()
    reason = {400: "Bad Request", 500: "Internal Server Error"}.get(answer.status, "Error")
    headers = [
        ("Content-Type", CONTENT_TYPE),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", uuid.uuid4().hex.upper()),
        ("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF)),
    ]
    return f"{answer.status} {reason}", headers, [body]
