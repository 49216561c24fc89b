"""Lambda's Invoke API over HTTP, in front of local runtimes, so functions can invoke functions.

botocore's ``lambda`` model is rest-json: ``POST /2015-03-31/functions/{FunctionName}/invocations``
with an optional ``?Qualifier=``, the invocation type in ``X-Amz-Invocation-Type`` and the payload
as the raw body. The answer is the status code (200 RequestResponse, 202 Event, 204 DryRun), the
function's payload as the body, and ``X-Amz-Function-Error: Unhandled`` when the function failed.
Errors of the service itself carry their code in ``x-amzn-ErrorType``, which botocore's rest-json
parser prefers over the body, and ``{"Type", "Message"}`` as the model's error shapes define.

Versions and aliases (``publish_version``, ``add_alias``) all run the function's one local runtime;
what differs is the ARN the function is invoked as: ``context.invoked_function_arn`` is the qualified
ARN when a qualifier was invoked, as in Lambda, and that is the resource IAM authorizes. With a
``RequestGate`` every Invoke first passes IAM and the planned faults.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from local_cloud.gate import ErrorAnswer, RequestGate, lambda_invoke_request
from local_cloud.http_server import LocalHTTPServer, drop_connection
from local_cloud.lambda_runtime.models import RuntimeClosedError, TooManyRequestsError
from local_cloud.lambda_runtime.runtime import LocalLambdaRuntime
from local_cloud.lambda_runtime.spec import DEFAULT_ACCOUNT_ID, DEFAULT_REGION

ENDPOINT_ENV_VAR = "AWS_ENDPOINT_URL_LAMBDA"
LATEST = "$LATEST"
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024  # Lambda's documented limits
MAX_ASYNC_PAYLOAD = 1024 * 1024
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
# CreateAlias Name (botocore's lambda model, Alias shape): not all digits, which would be a version.
_ALIAS_NAME = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}$")
_LOG = logging.getLogger(__name__)

ApiInvocationType = Literal["RequestResponse", "Event", "DryRun"]
_INVOCATION_TYPES: tuple[ApiInvocationType, ...] = ("RequestResponse", "Event", "DryRun")


@dataclass(frozen=True)
class ReceivedInvocation:
    """One Invoke request as the API saw it, answered or refused, for tests to assert on."""

    function_name: str  # as the caller wrote it (name, partial or full ARN)
    invocation_type: str
    received_at: float
    status: int
    resolved_function: str | None = None  # the runtime's function name, None when not found
    request_id: str | None = None  # the runtime's request id, as the function's context sees it
    error_code: str | None = None


class _ApiError(Exception):
    """A service-level failure: becomes ``x-amzn-ErrorType`` + ``{"Type", "Message"}``."""

    def __init__(self, status: int, code: str, message: str, error_type: str = "User", **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.body = {"Type": error_type, "Message": message, **extra}

    @classmethod
    def answer(cls, answer: ErrorAnswer) -> _ApiError:
        """The gate's refusal (IAM denial, injected fault) in this protocol."""
        return cls(answer.status, answer.code, answer.message, answer.wire_type or "User", **answer.fields)


@dataclass(frozen=True)
class InvocationTarget:
    """What an Invoke reaches: the runtime, the ARN it is invoked as, and the version that runs."""

    runtime: LocalLambdaRuntime
    invoked_arn: str  # the function ARN, with ``:<qualifier>`` when a qualifier was invoked
    executed_version: str  # ``$LATEST``, or the version a version/alias qualifier stands for


class LambdaInvokeApi(LocalHTTPServer):
    """Serves Invoke for every registered runtime on 127.0.0.1 from a background thread.

    ``start()``/``stop()``/``with`` come from the shared base; the runtimes are the caller's to close.
    """

    thread_name = "lambda-invoke-api"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        gate: RequestGate | None = None,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        """``region``/``account_id`` complete a bare function name into the ARN IAM sees."""
        super().__init__((host, port), _Handler)
        self.gate = gate
        self.region = region
        self.account_id = account_id
        self._runtimes: dict[str, LocalLambdaRuntime] = {}
        self._versions: dict[str, int] = {}  # function name -> last published version
        self._aliases: dict[str, dict[str, str]] = {}  # function name -> alias -> version
        self._received: list[ReceivedInvocation] = []
        # Fault injection: Lambda delivers Event invocations at least once; a test can make it twice.
        self.duplicate_events = False
        self._cond = threading.Condition()

    # -- functions -------------------------------------------------------------------------------

    def register(self, runtime: LocalLambdaRuntime) -> None:
        """Make a runtime invokable by its name, ``account:function:name`` or its ARN (see ``resolve``)."""
        with self._cond:
            self._runtimes[runtime.spec.function_name] = runtime

    def publish_version(self, function_name: str) -> str:
        """PublishVersion: the next version number ("1", "2", ...); it runs the same local runtime."""
        with self._cond:
            number = self._versions.get(function_name, 0) + 1
            self._versions[function_name] = number
        return str(number)

    def add_alias(self, function_name: str, alias: str, version: str = LATEST) -> str:
        """CreateAlias: ``alias`` of ``function_name`` points at ``version``; returns the alias ARN
        (for the registered runtime, else built from this API's region and account)."""
        if not _ALIAS_NAME.match(alias):
            raise ValueError(f"invalid alias name {alias!r} (1-128 of [a-zA-Z0-9_-], not all digits)")
        with self._cond:
            published = self._versions.get(function_name, 0)
            if version != LATEST and not (version.isdigit() and 1 <= int(version) <= published):
                raise ValueError(f"version {version!r} of {function_name} is not published")
            self._aliases.setdefault(function_name, {})[alias] = version
            runtime = self._runtimes.get(function_name)
        arn = runtime.spec.function_arn if runtime is not None else self._arn(function_name, None, None)
        return f"{arn}:{alias}"

    def _executed_version(self, function_name: str, qualifier: str | None) -> str | None:
        """The version a qualifier stands for; None when the function has no such version or alias."""
        if qualifier in (None, LATEST):
            return LATEST
        assert qualifier is not None
        with self._cond:
            if qualifier.isdigit():
                return qualifier if 1 <= int(qualifier) <= self._versions.get(function_name, 0) else None
            return self._aliases.get(function_name, {}).get(qualifier)

    def _arn(self, name: str, account: str | None, region: str | None) -> str:
        return f"arn:aws:lambda:{region or self.region}:{account or self.account_id}:function:{name}"

    def invoked_arn(self, function_name: str, qualifier: str | None = None) -> str:
        """The ARN an Invoke names (qualified when it names a qualifier), whether the function exists or not."""
        name, effective, account, region = self._split(function_name, qualifier)
        arn = self._arn(name, account, region)
        return f"{arn}:{effective}" if effective is not None else arn

    def _split(self, function_name: str, qualifier: str | None) -> tuple[str, str | None, str | None, str | None]:
        name, derived_qualifier, account, region = _parse_function_name(function_name)
        if qualifier is not None and derived_qualifier is not None and qualifier != derived_qualifier:
            raise _ApiError(
                400,
                "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified qualifier.",
            )
        return name, qualifier if qualifier is not None else derived_qualifier, account, region

    def target(self, function_name: str, qualifier: str | None = None) -> InvocationTarget:
        """Find what a name, ``name:qualifier``, partial or full ARN invokes; 404 otherwise."""
        name, qualifier, account, region = self._split(function_name, qualifier)
        with self._cond:
            runtime = self._runtimes.get(name)
        version = self._executed_version(name, qualifier)
        if (
            runtime is None
            or version is None
            or (account is not None and account != runtime.spec.account_id)
            or (region is not None and region != runtime.spec.region)
        ):
            arn = runtime.spec.function_arn if runtime is not None else name
            shown = f"{arn}:{qualifier}" if qualifier is not None else arn
            raise _ApiError(404, "ResourceNotFoundException", f"Function not found: {shown}")
        arn = runtime.spec.function_arn
        return InvocationTarget(runtime, f"{arn}:{qualifier}" if qualifier is not None else arn, version)

    def resolve(self, function_name: str, qualifier: str | None = None) -> LocalLambdaRuntime:
        """The runtime a name, ``name:qualifier``, partial or full ARN invokes; 404 otherwise."""
        return self.target(function_name, qualifier).runtime

    # -- observation -----------------------------------------------------------------------------

    @property
    def invocations(self) -> list[ReceivedInvocation]:
        """Every Invoke request handled so far (recorded just before its answer is sent)."""
        with self._cond:
            return list(self._received)

    def wait_for_invocations(self, count: int, timeout: float = 10.0) -> list[ReceivedInvocation]:
        """Block until at least ``count`` requests have been handled; return them all."""
        end = time.monotonic() + timeout
        with self._cond:
            while len(self._received) < count:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self._received)} of {count} invocations within {timeout} s")
                self._cond.wait(remaining)
            return list(self._received)

    def record(self, record: ReceivedInvocation) -> None:
        """Keep one answered request (called by the request handler)."""
        with self._cond:
            self._received.append(record)
            self._cond.notify_all()


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes = b""
    request_id: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"

    @classmethod
    def error(cls, error: _ApiError) -> _Response:
        return cls(error.status, json.dumps(error.body).encode(), headers=(("x-amzn-ErrorType", error.code),))


class _Handler(BaseHTTPRequestHandler):
    """One connection; keep-alive, and long enough for a synchronous invoke to finish."""

    protocol_version = "HTTP/1.1"
    timeout = 900  # Lambda's maximum function timeout; an idle keep-alive connection holds a thread
    disable_nagle_algorithm = True
    server: LambdaInvokeApi

    def do_POST(self) -> None:
        """Answer one Invoke; the record is kept before the answer goes out, so callers can rely on it."""
        received_at = time.time()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        match = _INVOKE_PATH.match(url.path)
        function_name = unquote(match["name"]) if match else ""
        invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        resolved: str | None = None
        admission = None
        try:
            if match is None:
                raise _ApiError(404, "UnknownOperationException", f"Unknown operation: POST {url.path}")
            qualifier = parse_qs(url.query).get("Qualifier", [None])[0]
            gate = self.server.gate
            if gate is not None:
                request = lambda_invoke_request(
                    self.server.invoked_arn(function_name, qualifier),
                    self.headers.get("Authorization"),
                    self.client_address,
                )
                admission = gate.admit(request)
                if admission.refusal is not None:
                    raise _ApiError.answer(admission.refusal)
            target = self.server.target(function_name, qualifier)
            resolved = target.runtime.spec.function_name
            response = self._invoke(target, invocation_type, body)
        except _ApiError as error:
            response = _Response.error(error)
        except Exception:  # a bug here: answer like AWS's 500 so the caller sees it
            _LOG.exception("invoke API failed for %s", function_name)
            response = _Response.error(
                _ApiError(500, "ServiceException", "The local invoke API failed; see its log.", "Service")
            )
        error_code = dict(response.headers).get("x-amzn-ErrorType")
        send = admission is None or admission.deliver(response.status, error_code)
        self.server.record(
            ReceivedInvocation(
                function_name=function_name,
                invocation_type=invocation_type,
                received_at=received_at,
                status=response.status,
                resolved_function=resolved,
                request_id=response.request_id if error_code is None else None,
                error_code=error_code,
            )
        )
        if send:
            self._send(response)
        else:
            drop_connection(self)

    def _invoke(self, target: InvocationTarget, invocation_type: str, body: bytes) -> _Response:
        """Run the invocation type's semantics and build the answer."""
        if invocation_type not in _INVOCATION_TYPES:
            raise _ApiError(
                400,
                "InvalidParameterValueException",
                f"Invalid X-Amz-Invocation-Type {invocation_type!r}; expected one of {', '.join(_INVOCATION_TYPES)}.",
            )
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_SYNC_PAYLOAD
        if len(body) > limit:
            raise _ApiError(413, "RequestTooLargeException", f"Request must be smaller than {limit} bytes.")
        event = _decode_payload(body)
        if invocation_type == "DryRun":
            return _Response(204)
        runtime, arn = target.runtime, target.invoked_arn
        try:
            if invocation_type == "Event":
                request_id = runtime.invoke_async(event, invoked_function_arn=arn)
                if self.server.duplicate_events:
                    runtime.invoke_async(event, invoked_function_arn=arn)
                return _Response(202, request_id=request_id)
            result = runtime.invoke(event, client_context=self._client_context(), invoked_function_arn=arn)
        except TooManyRequestsError as error:
            raise _ApiError(
                429, "TooManyRequestsException", str(error), Reason="ReservedFunctionConcurrentInvocationLimitExceeded"
            ) from error
        except RuntimeClosedError as error:
            raise _ApiError(500, "ServiceException", str(error), "Service") from error
        headers = [("X-Amz-Executed-Version", target.executed_version)]
        if result.function_error is not None:
            headers.append(("X-Amz-Function-Error", result.function_error))
        return _Response(200, result.raw_payload, result.request_id, tuple(headers), result.content_type)

    def _client_context(self) -> dict[str, Any] | None:
        """``X-Amz-Client-Context`` is base64 JSON; the runtime passes it on to the function."""
        raw = self.headers.get("X-Amz-Client-Context")
        if not raw:
            return None
        try:
            decoded = json.loads(base64.b64decode(raw, validate=True))
        except (binascii.Error, ValueError) as error:
            raise _ApiError(400, "InvalidRequestContentException", "Client context must be base64 JSON.") from error
        if not isinstance(decoded, dict):
            raise _ApiError(400, "InvalidRequestContentException", "Client context must be a JSON object.")
        return decoded

    def _send(self, response: _Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("x-amzn-RequestId", response.request_id or str(uuid.uuid4()))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        _LOG.debug("%s - " + format, self.address_string(), *args)


def _decode_payload(body: bytes) -> Any:
    """Lambda accepts only JSON; an absent payload reaches the function as ``{}``."""
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _ApiError(
            400, "InvalidRequestContentException", f"Could not parse request body into json: {error}"
        ) from error


def _parse_function_name(value: str) -> tuple[str, str | None, str | None, str | None]:
    """Split ``name[:qualifier]``, ``account:function:name[:qualifier]`` or a full ARN.

    Returns (name, qualifier, account, region); runtimes are found by name, and a given account or
    region must then match the runtime's, so every form of one function reaches the same runtime.
    """
    parts = value.split(":")
    if parts[0] == "arn" and len(parts) in (7, 8) and parts[2] == "lambda" and parts[5] == "function":
        return parts[6], (parts[7] if len(parts) == 8 else None), parts[4], parts[3]
    if len(parts) in (3, 4) and parts[1] == "function":
        return parts[2], (parts[3] if len(parts) == 4 else None), parts[0], None
    if len(parts) in (1, 2):
        return parts[0], (parts[1] if len(parts) == 2 else None), None, None
    raise _ApiError(400, "ValidationException", f"Invalid function name: {value!r}", error_type="User")
