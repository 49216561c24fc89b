"""moto's server for the local cloud's AWS services (DynamoDB, SQS), on 127.0.0.1.

Built from the same parts as ``moto.server.ThreadedMotoServer`` (moto's WSGI dispatcher and request
handler under werkzeug) with two differences: requests are **serialized**, because moto applies a
conditional write in separate Python steps without a lock while the real services apply it
atomically; and the request log goes to ``logging`` at debug instead of stderr.

moto keeps its data per process, shared by every server in it: each service gives its resources
CloudFormation-style unique names and deletes them again on stop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import ThreadedWSGIServer

from local_cloud.http_server import BackgroundServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_LOG = logging.getLogger(__name__)


def moto_client(service: str, endpoint_url: str, region: str) -> Any:
    """A boto3 client for a moto endpoint (dummy credentials; moto checks no signature)."""
    import boto3

    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - dummy
    )


def start_moto_server(
    host: str,
    port: int,
    *,
    thread_name: str,
    wrap: Callable[[WSGIApplication], WSGIApplication] | None = None,
) -> MotoServer:
    """A serialized moto server on (host, port), serving from a daemon thread named `thread_name`;
    `wrap` puts something in front of the serializing lock (the request gate, for DynamoDB)."""
    app: WSGIApplication = Serialized(DomainDispatcherApplication(create_backend_app))
    if wrap is not None:
        app = wrap(app)
    server = MotoServer(host, port, app, handler=QuietHandler)
    server.thread_name = thread_name
    server.start()
    return server


class Serialized:
    """One request at a time, so each conditional write is atomic as it is in DynamoDB."""

    def __init__(self, app: WSGIApplication) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with self._lock:
            result = self._app(environ, start_response)
            try:
                return list(result)  # moto's responses are small and fully built; finish inside the lock
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


class MotoServer(BackgroundServer, ThreadedWSGIServer):
    """What ``werkzeug.serving.make_server(..., threaded=True)`` builds, with the shared background lifecycle."""

    thread_name = "local-moto"


class QuietHandler(MotoRequestHandler):
    """werkzeug prints every request to stderr; route that to the debug log like our other servers."""

    def log(self, type: str, message: str, *args: Any) -> None:
        _LOG.debug("%s " + message, self.address_string(), *args)
