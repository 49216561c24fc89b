"""A local Lambda service for one function: warm reuse, scale-out, deadlines, async retries.

Synchronous ``invoke`` mirrors ``InvocationType=RequestResponse``; ``invoke_async`` mirrors ``Event``
(at-least-once, retried on function error with the same request id). Every attempt is recorded so
tests can reason about which environment ran what, and when.
"""

from __future__ import annotations

import itertools
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from local_cloud.lambda_runtime.environment import ExecutionEnvironment, PendingInvocation
from local_cloud.lambda_runtime.models import (
    InvocationAttempt,
    InvocationResult,
    InvocationType,
    LogRecord,
    RuntimeClosedError,
    TooManyRequestsError,
)
from local_cloud.lambda_runtime.peers import process_owning_port
from local_cloud.lambda_runtime.sandbox_env import build_environment
from local_cloud.lambda_runtime.spec import FunctionSpec

_LOG = logging.getLogger(__name__)

DEFAULT_MAX_RETRY_ATTEMPTS = 2  # Lambda's default for asynchronous invocation
DEFAULT_RETRY_DELAYS = (1.0, 2.0)  # Lambda waits ~1 min then ~2 min; scaled down for local runs
DEFAULT_INIT_TIMEOUT_S = 10.0  # Lambda's limit for the INIT phase

# Where Lambda sends an async invocation that failed every attempt (its DeadLetterConfig target):
# called with the event as invoked and the last attempt's result.
DeadLetterTarget = Callable[[Any, InvocationResult], None]


class LocalLambdaRuntime:
    """Runs one function's asset under awslambdaric in local execution environments."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        timeout: float | None = None,
        extra_env: Mapping[str, str] | None = None,
        reserved_concurrency: int | None = None,
        max_retry_attempts: int = DEFAULT_MAX_RETRY_ATTEMPTS,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        init_timeout: float = DEFAULT_INIT_TIMEOUT_S,
        echo_logs: bool = False,
        python: str = sys.executable,
        dead_letter: DeadLetterTarget | None = None,
        max_event_age: float | None = None,
    ) -> None:
        """``timeout`` overrides the template's; ``extra_env`` overrides any variable but the API address.
        ``dead_letter`` receives what Lambda gives up on: an Event invocation whose retries are spent,
        or that is older than ``max_event_age`` seconds (EventInvokeConfig) before its next retry."""
        if reserved_concurrency is not None and reserved_concurrency < 1:
            raise ValueError("reserved_concurrency must be >= 1")
        self.spec = spec
        self.timeout = spec.timeout if timeout is None else timeout
        self.extra_env = dict(extra_env or {})
        self.reserved_concurrency = reserved_concurrency
        self.max_retry_attempts = max_retry_attempts
        self.dead_letter = dead_letter
        self.max_event_age = max_event_age
        self.retry_delays = tuple(retry_delays) or (0.0,)
        self.init_timeout = init_timeout
        self.echo_logs = echo_logs
        self.python = python
        self._cond = threading.Condition()
        self._environments: list[ExecutionEnvironment] = []
        self._busy: set[str] = set()
        self._env_counter = itertools.count(1)
        self._environments_started = 0
        self._cold_starts = 0
        self._attempts: list[InvocationAttempt] = []
        self._logs: list[LogRecord] = []
        self._async_results: dict[str, InvocationResult] = {}
        self._async_threads: list[threading.Thread] = []
        self._async_pending = 0
        self._closing = threading.Event()

    # -- context manager -------------------------------------------------------------------------

    def __enter__(self) -> LocalLambdaRuntime:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Kill every environment, stop their servers, stop pending async retries. Idempotent."""
        with self._cond:
            self._closing.set()
            environments = list(self._environments)
            self._cond.notify_all()
        for env in environments:
            env.close()
        for thread in list(self._async_threads):
            thread.join(5.0)

    # -- observation -----------------------------------------------------------------------------

    @property
    def environments_started(self) -> int:
        """How many execution environments (processes) have been started so far."""
        with self._cond:
            return self._environments_started

    @property
    def cold_starts(self) -> int:
        """How many attempts ran on a freshly started environment."""
        with self._cond:
            return self._cold_starts

    @property
    def attempts(self) -> list[InvocationAttempt]:
        """Every attempt so far, in completion order."""
        with self._cond:
            return list(self._attempts)

    def attempts_for(self, request_id: str) -> list[InvocationAttempt]:
        """The attempts of one request (several for a retried async invocation)."""
        return [a for a in self.attempts if a.request_id == request_id]

    @property
    def logs(self) -> list[LogRecord]:
        """Everything the environments printed, plus START/END/REPORT platform lines."""
        with self._cond:
            return list(self._logs)

    def log_text(self) -> str:
        """All log lines joined, for substring assertions (e.g. a secret never appears)."""
        return "\n".join(record.text for record in self.logs)

    def wait_for_log(self, text: str, timeout: float = 10.0) -> LogRecord:
        """Block until a log line contains ``text``; lets tests act mid-invocation."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                for record in self._logs:
                    if text in record.text:
                        return record
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no log line containing {text!r} within {timeout} s")
                self._cond.wait(remaining)

    def live_environment_ids(self) -> list[str]:
        """Ids of environments whose process is still alive."""
        with self._cond:
            return [env.env_id for env in self._environments if env.alive]

    def busy_environment_ids(self) -> list[str]:
        """Ids of environments currently running the handler."""
        with self._cond:
            return [env.env_id for env in self._environments if env.in_invocation]

    def async_result(self, request_id: str) -> InvocationResult | None:
        """Final result of an async invocation (after its last attempt), or None while pending."""
        with self._cond:
            return self._async_results.get(request_id)

    def wait_for_async(self, timeout: float = 30.0) -> None:
        """Block until every async invocation (retries included) has finished."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._async_pending:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{self._async_pending} async invocation(s) still pending")
                self._cond.wait(remaining)

    # -- control ---------------------------------------------------------------------------------

    def kill_environment(self, env_id: str | None = None) -> str:
        """SIGKILL one environment (default: a busy one), as if its sandbox died mid-invocation."""
        with self._cond:
            candidates = [
                env
                for env in self._environments
                if env.alive and (env.env_id == env_id if env_id is not None else env.in_invocation)
            ]
        if not candidates:
            raise LookupError(f"no {'live environment ' + env_id if env_id else 'busy environment'}")
        candidates[0].kill("killed on purpose")
        return candidates[0].env_id

    def environment_on_port(self, port: int | None) -> str | None:
        """The live environment whose process owns the local TCP port ``port`` (a client socket), if any:
        how a local service finds the environment that called it."""
        if port is None:
            return None
        with self._cond:
            pids = {env.pid: env.env_id for env in self._environments if env.alive and env.pid is not None}
        owner = process_owning_port(port, pids)
        return pids.get(owner) if owner is not None else None

    def kill_caller(self, port: int | None) -> str | None:
        """SIGKILL the environment that owns ``port`` (see ``environment_on_port``); its id, or None."""
        env_id = self.environment_on_port(port)
        if env_id is None:
            return None
        try:
            return self.kill_environment(env_id)
        except LookupError:
            return None  # it died on its own in the meantime

    def kill_busy(self) -> list[str]:
        """SIGKILL every environment that is running the handler right now."""
        with self._cond:
            busy = [env for env in self._environments if env.in_invocation]
        for env in busy:
            env.kill("killed on purpose")
        return [env.env_id for env in busy]

    # -- invoking --------------------------------------------------------------------------------

    def invoke(
        self,
        event: Any,
        *,
        client_context: Mapping[str, Any] | None = None,
        cognito_identity: Mapping[str, Any] | None = None,
        invoked_function_arn: str | None = None,
    ) -> InvocationResult:
        """``RequestResponse`` invoke: run once, return the payload or Lambda's error object.

        ``invoked_function_arn`` is the ARN the caller named (qualified for a version or alias), which
        the function sees as ``context.invoked_function_arn``; the unqualified ARN by default.
        Raises TooManyRequestsError when ``reserved_concurrency`` environments are all busy.
        """
        headers = _context_headers(client_context, cognito_identity)
        return self._attempt(
            str(uuid.uuid4()),
            event,
            1,
            "RequestResponse",
            headers,
            wait_for_capacity=False,
            function_arn=invoked_function_arn or self.spec.function_arn,
        )

    def invoke_async(self, event: Any, *, invoked_function_arn: str | None = None) -> str:
        """``Event`` invoke: queue and return the request id at once; retried on error/timeout/crash."""
        request_id = str(uuid.uuid4())
        arn = invoked_function_arn or self.spec.function_arn
        with self._cond:
            if self._closing.is_set():
                raise RuntimeClosedError("runtime is closed")
            self._async_pending += 1
            thread = threading.Thread(
                target=self._run_async, args=(request_id, event, arn), daemon=True, name=f"async-{request_id[:8]}"
            )
            self._async_threads.append(thread)
        thread.start()
        return request_id

    def _run_async(self, request_id: str, event: Any, function_arn: str) -> None:
        result: InvocationResult | None = None
        queued = time.monotonic()
        given_up = False
        try:
            for attempt in range(1, self.max_retry_attempts + 2):
                result = self._attempt(
                    request_id, event, attempt, "Event", {}, wait_for_capacity=True, function_arn=function_arn
                )
                if result.ok:
                    break
                delay = self.retry_delays[min(attempt - 1, len(self.retry_delays) - 1)]
                too_old = self.max_event_age is not None and time.monotonic() - queued + delay > self.max_event_age
                if attempt > self.max_retry_attempts or too_old:
                    given_up = True
                    break
                if self._closing.wait(delay):
                    break
            if given_up and result is not None and self.dead_letter is not None:
                # Lambda developer guide, "Asynchronous invocation": after the last retry (or past the
                # maximum event age) Lambda sends the event to the dead-letter queue. Nothing about it
                # is logged to the function's logs.
                try:
                    self.dead_letter(event, result)
                except Exception as exc:  # Lambda counts a failed send in DeadLetterErrors; the event is lost
                    _LOG.warning("dead-letter delivery of request %s failed: %s", request_id, type(exc).__name__)
        except RuntimeClosedError:
            pass
        finally:
            with self._cond:
                if result is not None:
                    self._async_results[request_id] = result
                self._async_pending -= 1
                self._cond.notify_all()

    def _attempt(
        self,
        request_id: str,
        event: Any,
        attempt: int,
        invocation_type: InvocationType,
        headers: dict[str, str],
        *,
        wait_for_capacity: bool,
        function_arn: str,
    ) -> InvocationResult:
        env, cold = self._acquire(wait_for_capacity)
        body = event if isinstance(event, bytes) else json.dumps(event).encode("utf-8")
        invocation = PendingInvocation(request_id, body, self.timeout, function_arn, headers)
        started = time.time()
        self._platform_log(env.env_id, f"START RequestId: {request_id} Version: $LATEST")
        try:
            env.run(invocation, self.init_timeout)
        finally:
            self._release(env)
        ended = time.time()
        outcome = invocation.outcome or "crash"
        if outcome == "timeout" and invocation.error is not None:
            self._platform_log(env.env_id, str(invocation.error["errorMessage"]))
        self._platform_log(env.env_id, f"END RequestId: {request_id}")
        self._platform_log(
            env.env_id,
            f"REPORT RequestId: {request_id}\tDuration: {(ended - started) * 1000:.2f} ms\t"
            f"Memory Size: {self.spec.memory_size} MB",
        )
        record = InvocationAttempt(
            request_id=request_id,
            attempt=attempt,
            invocation_type=invocation_type,
            env_id=env.env_id,
            cold_start=cold,
            event=event,
            started_at=started,
            ended_at=ended,
            outcome=outcome,
            error=invocation.error,
        )
        with self._cond:
            self._attempts.append(record)
            self._cold_starts += int(cold)
        return InvocationResult(
            request_id=request_id,
            env_id=env.env_id,
            outcome=outcome,
            raw_payload=invocation.raw_payload,
            payload=_decode_payload(invocation) if outcome == "success" else None,
            error=invocation.error,
            content_type=invocation.content_type,
            duration_s=ended - started,
        )

    # -- environment pool ------------------------------------------------------------------------

    def _acquire(self, wait_for_capacity: bool) -> tuple[ExecutionEnvironment, bool]:
        """A warm idle environment if there is one, else a new one (within reserved concurrency)."""
        with self._cond:
            while True:
                if self._closing.is_set():
                    raise RuntimeClosedError("runtime is closed")
                # Forget dead environments; one still starting (busy, not yet alive) is kept.
                self._environments = [env for env in self._environments if env.alive or env.env_id in self._busy]
                for env in self._environments:
                    if env.env_id not in self._busy:
                        self._busy.add(env.env_id)
                        return env, False
                cap = self.reserved_concurrency
                if cap is None or len(self._environments) < cap:
                    break
                if not wait_for_capacity:
                    raise TooManyRequestsError(f"Rate Exceeded: reserved concurrency {cap} in use")
                self._cond.wait()
            env = ExecutionEnvironment(
                f"env-{next(self._env_counter)}",
                asset_dir=self.spec.asset_dir,
                handler=self.spec.handler,
                python=self.python,
                env_vars=lambda api: build_environment(self.spec, runtime_api=api, extra_env=self.extra_env),
                on_log=self._on_log,
                traced=self.spec.traced,
            )
            self._environments.append(env)
            self._busy.add(env.env_id)
            self._environments_started += 1
        try:
            env.start()
        except BaseException:
            env.close()
            self._release(env)
            raise
        return env, True

    def _release(self, env: ExecutionEnvironment) -> None:
        with self._cond:
            self._busy.discard(env.env_id)
            if not env.alive and env in self._environments:
                self._environments.remove(env)
            self._cond.notify_all()
        if not env.alive:
            env.close()

    # -- logs ------------------------------------------------------------------------------------

    def _on_log(self, record: LogRecord) -> None:
        with self._cond:
            self._logs.append(record)
            self._cond.notify_all()
        if self.echo_logs:
            print(f"[{self.spec.function_name} {record.env_id}] {record.text}", file=sys.stderr, flush=True)

    def _platform_log(self, env_id: str, text: str) -> None:
        self._on_log(LogRecord(env_id, "platform", text, time.time()))


def _context_headers(
    client_context: Mapping[str, Any] | None, cognito_identity: Mapping[str, Any] | None
) -> dict[str, str]:
    headers: dict[str, str] = {}
    if client_context is not None:
        headers["Lambda-Runtime-Client-Context"] = json.dumps(client_context)
    if cognito_identity is not None:
        headers["Lambda-Runtime-Cognito-Identity"] = json.dumps(cognito_identity)
    return headers


def _decode_payload(invocation: PendingInvocation) -> Any:
    """JSON responses are decoded as the SDK's caller would; anything else stays bytes."""
    if invocation.content_type.split(";")[0].strip() != "application/json":
        return invocation.raw_payload
    try:
        return json.loads(invocation.raw_payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return invocation.raw_payload.decode("utf-8", errors="replace")
