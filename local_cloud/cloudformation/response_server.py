"""The HTTPS endpoint standing in for CloudFormation's pre-signed S3 ResponseURLs.

Each request gets its own URL shaped like a pre-signed S3 PUT URL, with a random
``X-Amz-Signature`` that is a real secret: tests grep logs for it to prove the function never
leaks its ResponseURL. Every PUT is recorded, because the interesting bugs are about *how many*
answers arrive and *when*, not only about what the first one says.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import quote, urlsplit

from local_cloud.cloudformation.validation import ResponseVerdict, validate_response_body
from local_cloud.gate import RequestGate, response_url_request
from local_cloud.http_server import LocalHTTPServer, drop_connection
from local_cloud.tls import TlsMaterial

__all__ = ["PendingResponse", "ReceivedPut", "ResponseServer"]

_LOG = logging.getLogger(__name__)
_MAX_READ = 1024 * 1024  # far above the 4096-byte rule; only guards the emulator's memory
_S3_ERRORS = {500: "InternalError", 503: "SlowDown"}


@dataclass(frozen=True)
class ReceivedPut:
    """One HTTP request received on a ResponseURL, with what the endpoint answered."""

    index: int
    monotonic: float
    received_at: dt.datetime
    method: str
    body: bytes
    content_type: str | None
    http_status: int
    note: str
    """``accepted`` (decided the outcome), ``injected-5xx``, ``duplicate`` or ``late``."""

    @property
    def accepted(self) -> bool:
        """True for the one PUT that decided the outcome."""
        return self.note == "accepted"

    def json(self) -> Any:
        """The body parsed as JSON (raises if it is not JSON)."""
        import json

        return json.loads(self.body)


class PendingResponse:
    """The ResponseURL slot of one request: records PUTs and releases the waiting driver."""

    def __init__(
        self,
        *,
        base_url: str,
        stack_id: str,
        logical_resource_id: str,
        request_id: str,
        fail_first: int = 0,
        fail_status: int = 500,
    ) -> None:
        if fail_status not in _S3_ERRORS:
            raise ValueError(f"fail_status must be one of {sorted(_S3_ERRORS)}")
        self.stack_id = stack_id
        self.logical_resource_id = logical_resource_id
        self.request_id = request_id
        self.signature = secrets.token_hex(32)
        key = quote(f"{stack_id}|{logical_resource_id}|{request_id}", safe="")
        self.path = f"/cloudformation-custom-resource-response-useast1/{key}"
        now = dt.datetime.now(dt.UTC)
        query = (
            "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Date={now:%Y%m%dT%H%M%SZ}"
            "&X-Amz-SignedHeaders=host&X-Amz-Expires=7200"
            f"&X-Amz-Credential=AKIALOCALCLOUD000000%2F{now:%Y%m%d}%2Fus-east-1%2Fs3%2Faws4_request"
            f"&X-Amz-Signature={self.signature}"
        )
        self.url = f"{base_url}{self.path}?{query}"
        self._fail_first = fail_first
        self._fail_status = fail_status
        self._lock = threading.Lock()
        self._decided = threading.Event()
        self._puts: list[ReceivedPut] = []
        self._verdict: ResponseVerdict | None = None
        self._closed = False

    def __repr__(self) -> str:  # never show the URL: its signature is a credential
        return f"PendingResponse(request_id={self.request_id!r}, puts={len(self._puts)})"

    @property
    def puts(self) -> tuple[ReceivedPut, ...]:
        """Every request received so far on this URL, in arrival order."""
        with self._lock:
            return tuple(self._puts)

    @property
    def verdict(self) -> ResponseVerdict | None:
        """The verdict of the first accepted PUT, if any."""
        with self._lock:
            return self._verdict

    def wait(self, timeout: float) -> ResponseVerdict | None:
        """Block until the first accepted PUT or ``timeout``; afterwards later PUTs count as late."""
        self._decided.wait(timeout)
        with self._lock:
            self._closed = True
            return self._verdict

    def receive(self, method: str, body: bytes, content_type: str | None, *, refused_with: int | None = None) -> int:
        """Record one request and return the HTTP status to answer with; ``refused_with`` is a 5xx the
        request gate injected for this PUT."""
        with self._lock:
            index = len(self._puts) + 1
            put_number = sum(1 for p in self._puts if p.method == "PUT") + 1
            if method != "PUT":
                status, note = 403, "wrong-method"
            elif refused_with is not None:
                status, note = refused_with, "injected-5xx"
            elif put_number <= self._fail_first:
                status, note = self._fail_status, "injected-5xx"
            elif self._verdict is not None:
                status, note = 200, "duplicate"
            elif self._closed:
                status, note = 200, "late"
            else:
                status, note = 200, "accepted"
                self._verdict = validate_response_body(
                    body,
                    stack_id=self.stack_id,
                    request_id=self.request_id,
                    logical_resource_id=self.logical_resource_id,
                )
            self._puts.append(
                ReceivedPut(
                    index=index,
                    monotonic=time.monotonic(),
                    received_at=dt.datetime.now(dt.UTC),
                    method=method,
                    body=body,
                    content_type=content_type,
                    http_status=status,
                    note=note,
                )
            )
        if note == "accepted":
            self._decided.set()
        return status

    def error_code(self, status: int) -> str:
        """S3 error code for an injected failure status."""
        return _S3_ERRORS.get(status, "AccessDenied")


class _Handler(BaseHTTPRequestHandler):
    """Routes ResponseURL requests to their slot; answers like S3 would."""

    server: ResponseServer
    protocol_version = "HTTP/1.1"
    timeout = 15  # a client that stalls must not pin a thread forever

    def setup(self) -> None:
        """Bound the socket, then do the TLS handshake here, in this connection's own thread."""
        self.request.settimeout(self.timeout)
        self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default access log: it prints the query string, i.e. the signature."""

    def _answer(self, status: int, code: str | None = None) -> None:
        payload = b""
        if code is not None:
            payload = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{code}</Message></Error>'
            ).encode()
        self.send_response(status)
        if status == 200:
            self.send_header("ETag", f'"{secrets.token_hex(16)}"')
        if payload:
            self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Server", "AmazonS3")
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        slot = self.server.lookup(parts.path, parts.query)
        body = b""
        length = self.headers.get("Content-Length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                self._answer(400, "InvalidArgument")
                return
            if size > _MAX_READ:
                self._answer(400, "EntityTooLarge")
                self.close_connection = True
                return
            body = self.rfile.read(size)
        elif self.command == "PUT":
            self._answer(411, "MissingContentLength")
            self.close_connection = True
            return
        if slot is None:
            _LOG.debug("ResponseURL request for an unknown key or bad signature: %s", parts.path)
            self._answer(403, "SignatureDoesNotMatch")
            return
        gate = self.server.gate
        admission = gate.admit(response_url_request(self.client_address)) if gate and self.command == "PUT" else None
        refusal = admission.refusal if admission is not None else None
        status = slot.receive(
            self.command, body, self.headers.get("Content-Type"), refused_with=refusal.status if refusal else None
        )
        code = refusal.code if refusal is not None else (None if status == 200 else slot.error_code(status))
        _LOG.debug("ResponseURL %s for request %s -> %d", self.command, slot.request_id, status)
        if admission is None or admission.deliver(status, code):
            self._answer(status, code)
        else:
            drop_connection(self)

    def do_PUT(self) -> None:
        """The one method a pre-signed PUT URL accepts."""
        self._dispatch()

    def do_GET(self) -> None:
        """Recorded and refused: the URL was signed for PUT only."""
        self._dispatch()

    def do_POST(self) -> None:
        """Recorded and refused: the URL was signed for PUT only."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Recorded and refused: the URL was signed for PUT only."""
        self._dispatch()

    def do_HEAD(self) -> None:
        """Recorded and refused: the URL was signed for PUT only."""
        self._dispatch()


class ResponseServer(LocalHTTPServer):
    """HTTPS server on 127.0.0.1 (a free port) holding one slot per outstanding request; serves from construction."""

    thread_name = "cfn-response-server"

    def __init__(self, tls: TlsMaterial, host: str = "127.0.0.1", gate: RequestGate | None = None) -> None:
        """``gate``: planned faults and the call log for every PUT (a pre-signed URL involves no IAM)."""
        super().__init__((host, 0), _Handler)
        self.gate = gate
        self._slots: dict[str, PendingResponse] = {}
        self._lock = threading.Lock()
        context: ssl.SSLContext = tls.server_context()
        # Handshake lazily in the per-connection thread, so one bad client cannot stall accept().
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.host = host
        self.port: int = self.server_address[1]
        self.base_url = f"https://{host}:{self.port}"
        self.start()

    @property
    def endpoint_url(self) -> str:
        """``https://HOST:PORT``: this server speaks TLS, unlike the base's plain-HTTP default."""
        return self.base_url

    def expect(
        self,
        *,
        stack_id: str,
        logical_resource_id: str,
        request_id: str,
        fail_first: int = 0,
        fail_status: int = 500,
    ) -> PendingResponse:
        """Open a fresh ResponseURL for one request; the first ``fail_first`` PUTs get ``fail_status``."""
        slot = PendingResponse(
            base_url=self.base_url,
            stack_id=stack_id,
            logical_resource_id=logical_resource_id,
            request_id=request_id,
            fail_first=fail_first,
            fail_status=fail_status,
        )
        with self._lock:
            self._slots[slot.path] = slot
        return slot

    def lookup(self, path: str, query: str) -> PendingResponse | None:
        """Find the slot for ``path`` if the query carries its exact signature."""
        with self._lock:
            slot = self._slots.get(path)
        if slot is None:
            return None
        signature = ""
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            if name == "X-Amz-Signature":
                signature = value
        if not hmac.compare_digest(signature, slot.signature):
            return None
        return slot

    def close(self) -> None:
        """Stop serving; idempotent."""
        self.stop()
