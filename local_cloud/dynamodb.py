"""DynamoDB for the local cloud: moto's server, on 127.0.0.1, with the template's tables in it.

moto implements DynamoDB's JSON 1.0 protocol and its expression grammar (conditions, ``if_not_exists``,
``ReturnValues``), so the unmodified handler reaches it through ``AWS_ENDPOINT_URL_DYNAMODB``.

It runs on ``local_cloud.moto_server`` (moto's WSGI dispatcher under werkzeug, requests serialized:
moto checks a ConditionExpression and writes the item in separate Python steps without a lock,
whereas DynamoDB applies a conditional write atomically, so duplicates racing on one ledger item
must see exactly one winner).

moto keeps its data per process, shared by every server in it, so tables get CloudFormation-style
unique names (``<stack>-<LogicalId>-<SUFFIX>``) and are deleted again on ``stop()``.
"""

from __future__ import annotations

import secrets
import string
from types import TracebackType
from typing import TYPE_CHECKING, Any

from local_cloud.moto_server import MotoServer, start_moto_server

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ENDPOINT_ENV_VAR = "AWS_ENDPOINT_URL_DYNAMODB"
TABLE_TYPE = "AWS::DynamoDB::Table"
_SUFFIX_ALPHABET = string.ascii_uppercase + string.digits
_MAX_TABLE_NAME = 255


class LocalDynamoDB:
    """``with LocalDynamoDB() as ddb: ddb.create_tables_from_template(template)``; stops on exit."""

    def __init__(self, region: str = "us-east-1", host: str = "127.0.0.1", port: int = 0) -> None:
        self.region = region
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
        self._server = start_moto_server(self._host, self._port, thread_name="local-dynamodb")

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
        """A boto3 dynamodb client for this endpoint (dummy credentials; moto checks no signature)."""
        import boto3

        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - dummy
        )

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
                name = _generated_name(stack_name, logical_id)
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


def _generated_name(stack_name: str, logical_id: str) -> str:
    """CloudFormation's ``<stack>-<LogicalId>-<12 random>`` form: unique per LocalDynamoDB."""
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(12))
    prefix = f"{stack_name}-{logical_id}"[: _MAX_TABLE_NAME - 13]
    return f"{prefix}-{suffix}"


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
