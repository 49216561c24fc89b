"""The Lambda Runtime API (``/2018-06-01/runtime/...``) as awslambdaric's clients call it.

Both clients awslambdaric uses are served: the native one (aws-lambda-cpp over libcurl, which keeps
connections alive and long-polls ``invocation/next``) and the ``http.client`` one used for
``init/error``. One server per execution environment, as in Lambda, so every request is known to
come from that environment without any guessing.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Protocol

from local_cloud.http_server import LocalHTTPServer

_LOG = logging.getLogger(__name__)

API_PREFIX = "/2018-06-01/runtime"
_NEXT = f"{API_PREFIX}/invocation/next"
_INIT_ERROR = f"{API_PREFIX}/init/error"
_INVOCATION_POST = re.compile(rf"^{API_PREFIX}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)$")
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


@dataclass(frozen=True)
class NextInvocation:
    """The answer to ``GET invocation/next``: the event body and the ``Lambda-Runtime-*`` headers."""

    request_id: str
    body: bytes
    headers: dict[str, str]


class RuntimeApiBackend(Protocol):
    """What the server delegates to; the execution environment implements it."""

    def next_invocation(self) -> NextInvocation | None:
        """Block until there is an invocation for this environment; None when shutting down."""
        ...

    def post_response(self, request_id: str, body: bytes, content_type: str) -> HTTPStatus:
        """Record a handler's result; ACCEPTED, or the status Lambda gives a stale/unknown id."""
        ...

    def post_error(self, request_id: str, body: bytes, error_type: str | None) -> HTTPStatus:
        """Record a handler's error object."""
        ...

    def post_init_error(self, body: bytes, error_type: str | None) -> None:
        """Record that the handler module could not be loaded."""
        ...


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so libcurl's keep-alive connections and Content-Length bodies behave as in Lambda.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; avoid 40 ms delayed-ACK stalls
    server: RuntimeApiServer

    def log_message(self, format: str, *args: object) -> None:
        _LOG.debug("runtime api %s: " + format, self.server.server_address, *args)

    def _reply(self, status: HTTPStatus, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Content-Type" not in (headers or {}):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _reply_error(self, status: HTTPStatus, error_type: str, message: str) -> None:
        body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        self._reply(status, body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():  # trailers
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def do_GET(self) -> None:
        if self.path != _NEXT:
            self._reply_error(HTTPStatus.NOT_FOUND, "NotFound", f"no route for GET {self.path}")
            return
        invocation = self.server.backend.next_invocation()
        if invocation is None:
            self._reply_error(
                HTTPStatus.INTERNAL_SERVER_ERROR, "Runtime.Shutdown", "execution environment is shutting down"
            )
            return
        self._reply(HTTPStatus.OK, invocation.body, invocation.headers)

    def do_POST(self) -> None:
        body = self._read_body()
        error_type = self.headers.get(ERROR_TYPE_HEADER)
        if self.path == _INIT_ERROR:
            self.server.backend.post_init_error(body, error_type)
            self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
            return
        match = _INVOCATION_POST.match(self.path)
        if match is None:
            self._reply_error(HTTPStatus.NOT_FOUND, "NotFound", f"no route for POST {self.path}")
            return
        backend = self.server.backend
        if match["kind"] == "response":
            content_type = self.headers.get("Content-Type", "application/json")
            status = backend.post_response(match["id"], body, content_type)
        else:
            status = backend.post_error(match["id"], body, error_type)
        if status == HTTPStatus.ACCEPTED:
            self._reply(status, b'{"status":"OK"}')
        elif status == HTTPStatus.BAD_REQUEST:
            self._reply_error(status, "InvalidRequestID", f"unknown request id {match['id']}")
        else:
            self._reply_error(status, "InvalidStateTransition", "invocation already answered")


class RuntimeApiServer(LocalHTTPServer):
    """A Runtime API endpoint on 127.0.0.1 with a free port; ``start()`` serves it from a daemon thread."""

    def __init__(self, backend: RuntimeApiBackend) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.backend = backend

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"

    def close(self) -> None:
        """Stop serving and release the port (blocked /next handlers are daemon threads)."""
        self.stop()
