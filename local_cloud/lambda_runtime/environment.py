"""One execution environment: an ``awslambdaric`` process plus the Runtime API it polls.

The environment enforces the invocation deadline itself (kill the whole process group at the
deadline, as Lambda does) and turns a process exit during an invocation into ``Runtime.ExitError``.
Between invocations it is frozen (SIGSTOP, SIGCONT when the next one is assigned), as Lambda
freezes an execution environment once its handler returned: a thread the handler left running
(a watchdog mid-call) stops where it is until the environment's next invocation, if any (Lambda
developer guide, "Lambda execution environment lifecycle": "Lambda freezes the execution
environment" after the invocation's response).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any, Literal

from local_cloud.lambda_runtime.api_server import NextInvocation, RuntimeApiServer
from local_cloud.lambda_runtime.models import LogRecord, Outcome, decode_error, error_object

# Process groups still running, killed at interpreter exit so a crashed test run leaves no orphans.
_LIVE_GROUPS: set[int] = set()
_LIVE_GROUPS_LOCK = threading.Lock()


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


@atexit.register
def _kill_live_groups() -> None:
    with _LIVE_GROUPS_LOCK:
        groups = list(_LIVE_GROUPS)
        _LIVE_GROUPS.clear()
    for pgid in groups:
        _kill_group(pgid)


def trace_id(*, sampled: bool = False) -> str:
    """An X-Ray trace header; sampled only for a function with active tracing, as in Lambda."""
    flag = 1 if sampled else 0
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled={flag}"


@dataclass
class PendingInvocation:
    """An invocation handed to one environment; its fields change under the environment's lock."""

    request_id: str
    body: bytes
    timeout: float
    function_arn: str
    extra_headers: dict[str, str] = field(default_factory=dict)
    fetched: bool = False
    done: bool = False
    deadline_monotonic: float = 0.0
    outcome: Outcome | None = None
    raw_payload: bytes = b""
    content_type: str = "application/json"
    error: dict[str, Any] | None = None

    def complete(
        self,
        outcome: Outcome,
        *,
        raw: bytes = b"",
        content_type: str = "application/json",
        error: dict[str, Any] | None = None,
    ) -> None:
        """First completion wins (a late response after a timeout kill is ignored)."""
        if self.done:
            return
        self.done = True
        self.outcome = outcome
        self.raw_payload = raw if error is None else json.dumps(error).encode()
        self.content_type = content_type
        self.error = error


class ExecutionEnvironment:
    """A single-concurrency sandbox running the function's handler under awslambdaric."""

    def __init__(
        self,
        env_id: str,
        *,
        asset_dir: Path,
        handler: str,
        python: str,
        env_vars: Callable[[str], dict[str, str]],
        on_log: Callable[[LogRecord], None],
        traced: bool = False,
    ) -> None:
        """``env_vars`` gets this environment's Runtime API address and returns its variables;
        ``traced`` samples every invocation's trace header (TracingConfig Active)."""
        self.env_id = env_id
        self._asset_dir = asset_dir
        self._handler = handler
        self._python = python
        self._env_vars = env_vars
        self._on_log = on_log
        self._traced = traced
        self._cond = threading.Condition()
        self._current: PendingInvocation | None = None
        self._alive = False
        self._init_error: dict[str, Any] | None = None
        self._exit_description: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []
        self._server = RuntimeApiServer(self)
        self._frozen = False
        self.invocations_served = 0

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Serve the Runtime API and spawn ``python -m awslambdaric <handler>`` in its own group."""
        self._server.start()
        env = self._env_vars(self._server.address)
        self._alive = True
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [self._python, "-m", "awslambdaric", self._handler],
            cwd=self._asset_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own process group: killpg reaches anything the handler forks
        )
        with _LIVE_GROUPS_LOCK:
            _LIVE_GROUPS.add(self._process.pid)
        assert self._process.stdout is not None
        assert self._process.stderr is not None
        self._spawn(self._read_stream, self._process.stdout, "stdout")
        self._spawn(self._read_stream, self._process.stderr, "stderr")
        self._spawn(self._watch_process)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=f"{self.env_id}-{target.__name__}")
        self._threads.append(thread)
        thread.start()

    @property
    def alive(self) -> bool:
        """False once killed or exited; a dead environment never takes another invocation."""
        with self._cond:
            return self._alive

    @property
    def pid(self) -> int | None:
        """Process id (= process group id) of the runtime client."""
        return None if self._process is None else self._process.pid

    @property
    def in_invocation(self) -> bool:
        """True while the handler is running (the invocation was fetched and not yet answered)."""
        with self._cond:
            return self._current is not None and self._current.fetched and not self._current.done

    def kill(self, reason: str = "killed") -> None:
        """SIGKILL the process group; an invocation in flight fails as a runtime exit."""
        with self._cond:
            self._alive = False
            self._exit_description = self._exit_description or reason
            self._cond.notify_all()
        if self._process is not None:
            _kill_group(self._process.pid)

    def close(self, wait: float = 5.0) -> None:
        """Kill (if needed), reap, stop the server and let the reader threads drain."""
        self.kill("shutdown")
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(wait)
        self._server.close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(wait)

    # -- invocation ------------------------------------------------------------------------------

    def run(self, invocation: PendingInvocation, init_timeout: float) -> None:
        """Hand ``invocation`` to the runtime client and block until it is answered or killed."""
        timed_out: Literal["init", "invoke"] | None = None
        with self._cond:
            if not self._alive:
                invocation.complete("crash", error=self._exit_error(invocation.request_id))
                return
            self._signal(signal.SIGCONT, frozen=False)
            self._current = invocation
            self._cond.notify_all()
            init_end = time.monotonic() + init_timeout
            while not invocation.done and not invocation.fetched:
                if not self._cond.wait(max(0.0, init_end - time.monotonic())):
                    break
            if not invocation.done and not invocation.fetched:
                timed_out = "init"
            else:
                while not invocation.done:
                    remaining = invocation.deadline_monotonic - time.monotonic()
                    if remaining <= 0 or not self._cond.wait(remaining):
                        break
                if not invocation.done:
                    timed_out = "invoke"
            if timed_out is not None:
                limit = init_timeout if timed_out == "init" else invocation.timeout
                phase = "INIT " if timed_out == "init" else ""
                invocation.complete(
                    "timeout",
                    error=error_object(
                        "Sandbox.Timedout",
                        f"RequestId: {invocation.request_id} Error: {phase}Task timed out after {limit:.2f} seconds",
                    ),
                )
                self._exit_description = "timeout"
            self._current = None
            self.invocations_served += 1
            if timed_out is None and self._alive:
                self._signal(signal.SIGSTOP, frozen=True)  # the handler returned: Lambda freezes it
        if timed_out is not None:
            self.kill("timeout")

    def _signal(self, signum: signal.Signals, *, frozen: bool) -> None:
        """Freeze or thaw the whole process group (called with the lock held)."""
        if self._process is None or self._frozen == frozen:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signum)
        self._frozen = frozen

    def _exit_error(self, request_id: str) -> dict[str, Any]:
        if self._init_error is not None:
            return self._init_error
        detail = self._exit_description or "unknown"
        return error_object("Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with error: {detail}")

    # -- RuntimeApiBackend -----------------------------------------------------------------------

    def next_invocation(self) -> NextInvocation | None:
        """Long-poll: wait until an invocation is assigned to this environment."""
        with self._cond:
            while self._alive and (self._current is None or self._current.fetched or self._current.done):
                self._cond.wait()
            if not self._alive or self._current is None:
                return None
            invocation = self._current
            invocation.fetched = True
            invocation.deadline_monotonic = time.monotonic() + invocation.timeout
            deadline_ms = int((time.time() + invocation.timeout) * 1000)
            self._cond.notify_all()
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
            "Lambda-Runtime-Trace-Id": trace_id(sampled=self._traced),
            "Content-Type": "application/json",
            **invocation.extra_headers,
        }
        return NextInvocation(invocation.request_id, invocation.body, headers)

    def _answer(self, request_id: str, finish: Callable[[PendingInvocation], None]) -> HTTPStatus:
        with self._cond:
            invocation = self._current
            if invocation is None or invocation.request_id != request_id or not invocation.fetched:
                return HTTPStatus.BAD_REQUEST
            if invocation.done:
                return HTTPStatus.FORBIDDEN
            finish(invocation)
            self._cond.notify_all()
            return HTTPStatus.ACCEPTED

    def post_response(self, request_id: str, body: bytes, content_type: str) -> HTTPStatus:
        """The handler returned."""
        return self._answer(request_id, lambda inv: inv.complete("success", raw=body, content_type=content_type))

    def post_error(self, request_id: str, body: bytes, error_type: str | None) -> HTTPStatus:
        """The handler raised (or its result could not be marshalled)."""
        error = decode_error(body, error_type or "Unhandled")
        return self._answer(request_id, lambda inv: inv.complete("error", error=error))

    def post_init_error(self, body: bytes, error_type: str | None) -> None:
        """Import of the handler failed; the pending invocation gets that error, as in Lambda."""
        error = decode_error(body, error_type or "Runtime.Unknown")
        error.pop("requestId", None)
        with self._cond:
            self._init_error = error
            if self._current is not None:
                self._current.complete("init_error", error=error)
            self._cond.notify_all()

    # -- threads ---------------------------------------------------------------------------------

    def _read_stream(self, stream: IO[bytes], name: Literal["stdout", "stderr"]) -> None:
        for raw in iter(stream.readline, b""):
            # awslambdaric joins the lines of one error record with '\r'.
            for text in raw.decode("utf-8", errors="replace").rstrip("\n").split("\r"):
                self._on_log(LogRecord(self.env_id, name, text, time.time()))
        stream.close()

    def _watch_process(self) -> None:
        assert self._process is not None
        returncode = self._process.wait()
        with _LIVE_GROUPS_LOCK:
            _LIVE_GROUPS.discard(self._process.pid)
        _kill_group(self._process.pid)  # stragglers the handler may have forked
        with self._cond:
            self._alive = False
            self._exit_description = _describe_exit(returncode)
            if self._current is not None and not self._current.done:
                self._current.complete(
                    "init_error" if self._init_error else "crash",
                    error=self._exit_error(self._current.request_id),
                )
            self._cond.notify_all()
        self._server.close()


def _describe_exit(returncode: int) -> str:
    """Lambda's wording: ``exit status 1`` or ``signal: killed``."""
    if returncode >= 0:
        return f"exit status {returncode}"
    name = {signal.SIGKILL: "killed", signal.SIGTERM: "terminated"}.get(signal.Signals(-returncode))
    return f"signal: {name or signal.Signals(-returncode).name.lower()}"
