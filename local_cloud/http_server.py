"""The one HTTP server base every local service uses (Service Catalog, Runtime API, ResponseURL)."""

from __future__ import annotations

import logging
from http.server import ThreadingHTTPServer
from typing import Any

_LOG = logging.getLogger(__name__)


class LocalHTTPServer(ThreadingHTTPServer):
    """Threaded, never keeps the interpreter alive, and quiet about peers that hang up.

    Killed execution environments drop their long-polling connections and unverified TLS clients
    abort handshakes; both are expected here, so they go to the debug log instead of stderr.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        _LOG.debug("Connection from %s failed", client_address, exc_info=True)
