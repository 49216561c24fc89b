"""The HTTP side: AWS JSON 1.1 as botocore 1.44 speaks it for Service Catalog.

botocore resolves the model's protocols ``[smithy-rpc-v2-cbor, json]`` to ``json`` (its priority
list puts json first), so requests are ``POST /`` with ``X-Amz-Target:
AWS242ServiceCatalogService.<Operation>`` and an ``application/x-amz-json-1.1`` body. Errors are HTTP
400 with ``{"__type": code, "message": ...}``, which botocore's JSONParser reads as the error code.
Signatures are not checked: any dummy credentials work. With a ``RequestGate``, every call first
passes IAM (the signer's access key names the caller) and the planned faults.
"""

from __future__ import annotations

import json
import logging
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

from local_cloud.gate import RequestGate, servicecatalog_request
from local_cloud.http_server import LocalHTTPServer, drop_connection
from local_cloud.servicecatalog.api import ServiceCatalogApi
from local_cloud.servicecatalog.errors import (
    SerializationException,
    ServiceCatalogError,
    UnknownOperationException,
)

TARGET_PREFIX = "AWS242ServiceCatalogService."
CONTENT_TYPE = "application/x-amz-json-1.1"
_LOG = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    """One connection; keep-alive (HTTP/1.1) so 50 concurrent botocore clients reuse sockets."""

    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds an idle keep-alive connection may hold its thread
    disable_nagle_algorithm = True  # headers and body go out as two writes; don't wait for delayed ACKs
    server: ServiceCatalogHttpServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target") or ""
        operation = target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""
        gate = self.server.gate
        admission = (
            gate.admit(servicecatalog_request(operation, self.headers.get("Authorization"), self.client_address))
            if gate is not None and operation
            else None
        )
        refusal = admission.refusal if admission is not None else None
        if refusal is not None:
            status, payload = refusal.status, {"__type": refusal.code, "message": refusal.message}
        else:
            status, payload = self._answer(operation, target, body)
        if admission is None or admission.deliver(status, payload.get("__type")):
            self._send(status, payload)
        else:
            drop_connection(self)

    def _answer(self, operation: str, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            if not operation:
                raise UnknownOperationException(
                    f"Expected POST / with X-Amz-Target: {TARGET_PREFIX}<Operation> (AWS JSON 1.1); "
                    f"got {self.command} {self.path} with target {target!r}."
                )
            params = _parse_body(body)
            return 200, self.server.api.handle(operation, params)
        except ServiceCatalogError as error:
            return error.http_status, error.to_wire()
        except Exception:  # a bug in the emulator: answer like AWS's 500 so callers see it
            _LOG.exception("emulator failed on %s", operation)
            return 500, {"__type": "InternalFailure", "message": "The emulator failed; see its log."}

    def _refuse(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        error = UnknownOperationException(f"{self.command} {self.path} is not a Service Catalog JSON 1.1 request.")
        self._send(error.http_status, error.to_wire())

    def do_GET(self) -> None:
        self._refuse()

    def do_PUT(self) -> None:
        self._refuse()

    def do_DELETE(self) -> None:
        self._refuse()

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        _LOG.debug("%s - " + format, self.address_string(), *args)


def _parse_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise SerializationException(f"The request body is not valid JSON: {error}") from error
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object.")
    return params


class ServiceCatalogHttpServer(LocalHTTPServer):
    """Serves a ServiceCatalogApi on 127.0.0.1; ``start()``/``stop()`` come from the shared base."""

    thread_name = "servicecatalog-emulator"

    def __init__(
        self, api: ServiceCatalogApi, host: str = "127.0.0.1", port: int = 0, gate: RequestGate | None = None
    ) -> None:
        """``gate`` (IAM, faults, the call log) is consulted before every operation, as AWS's front door is."""
        super().__init__((host, port), _Handler)
        self.api = api
        self.gate = gate
