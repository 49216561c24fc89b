"""The server parts every local service shares (Service Catalog, Runtime API, Invoke API, ResponseURL, DynamoDB)."""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

_LOG = logging.getLogger(__name__)


class BackgroundServer(socketserver.BaseServer):
    """Mixin for any ``socketserver`` server (werkzeug's too): serve it from a daemon thread.

    Every local service runs beside the test or demo that uses it, so each needs the same
    start/stop/``with`` lifecycle; put this first among the bases. ``with`` starts and stops.
    """

    thread_name: str | None = None
    """Name of the serving thread, for thread dumps; None lets ``threading`` pick one."""

    _serve_thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        """``http://HOST:PORT`` as bound, for ``endpoint_url=`` or an ``AWS_ENDPOINT_URL_*`` variable."""
        address = self.server_address
        if not isinstance(address, tuple):
            raise TypeError(f"{type(self).__name__} is not bound to a (host, port) address: {address!r}")
        host, port = address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Begin serving in a daemon thread. Idempotent."""
        if self._serve_thread is not None:
            return
        self._serve_thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll interval
            name=self.thread_name,
            daemon=True,
        )
        self._serve_thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice, or from two threads at once."""
        thread = self._serve_thread
        if thread is not None:
            self.shutdown()  # returns once serve_forever has; concurrent callers all wait for that
            thread.join()
            self._serve_thread = None
        self.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class LocalHTTPServer(BackgroundServer, ThreadingHTTPServer):
    """Threaded, never keeps the interpreter alive, and quiet about peers that hang up.

    Killed execution environments drop their long-polling connections and unverified TLS clients
    abort handshakes; both are expected here, so they go to the debug log instead of stderr.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        _LOG.debug("Connection from %s failed", client_address, exc_info=True)


def drop_connection(handler: BaseHTTPRequestHandler) -> None:
    """End the connection without an answer, as a network failure or a dead peer would."""
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)
