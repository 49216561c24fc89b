"""A local X-Ray daemon: the UDP endpoint that Lambda gives functions with active tracing.

The X-Ray SDK in Lambda sends every closed (sub)segment as one datagram to
``AWS_XRAY_DAEMON_ADDRESS``: a JSON header line, a newline, then the segment document. This daemon
keeps the documents, so tests can read what the synthesized asset traced (and what it did not).
"""

from __future__ import annotations

import json
import socketserver
import threading
from typing import Any

from local_cloud.http_server import BackgroundServer

DAEMON_ADDRESS_ENV_VAR = "AWS_XRAY_DAEMON_ADDRESS"
PROTOCOL_HEADER = {"format": "json", "version": 1}


class _DatagramHandler(socketserver.BaseRequestHandler):
    server: LocalXRayDaemon

    def handle(self) -> None:
        data: bytes = self.request[0]
        self.server.receive(data)


class LocalXRayDaemon(BackgroundServer, socketserver.ThreadingUDPServer):
    """Collects segment documents; a datagram that breaks the protocol is kept in ``rejected``."""

    daemon_threads = True
    thread_name = "local-xray-daemon"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _DatagramHandler)
        self._lock = threading.Lock()
        self._documents: list[dict[str, Any]] = []
        self.rejected: list[bytes] = []

    @property
    def address(self) -> str:
        """``HOST:PORT``, the form the X-Ray SDK reads from ``AWS_XRAY_DAEMON_ADDRESS``."""
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"

    def receive(self, data: bytes) -> None:
        header, _, body = data.partition(b"\n")
        try:
            if json.loads(header) != PROTOCOL_HEADER:
                raise ValueError("unexpected header")
            document = json.loads(body)
            if not isinstance(document, dict):
                raise ValueError("document is not an object")
        except ValueError:
            with self._lock:
                self.rejected.append(data)
            return
        with self._lock:
            self._documents.append(document)

    def documents(self) -> list[dict[str, Any]]:
        """Every document received so far, in arrival order."""
        with self._lock:
            return list(self._documents)

    def subsegments(self) -> list[dict[str, Any]]:
        """Every subsegment, nested ones included (the SDK streams or embeds them)."""
        found: list[dict[str, Any]] = []

        def walk(subsegment: dict[str, Any]) -> None:
            found.append(subsegment)
            for child in subsegment.get("subsegments", []):
                walk(child)

        for document in self.documents():
            if document.get("type") == "subsegment":
                walk(document)
            else:  # a segment: only its children are subsegments
                for child in document.get("subsegments", []):
                    walk(child)
        return found
