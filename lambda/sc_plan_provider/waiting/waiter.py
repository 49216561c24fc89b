"""The one way of waiting: poll until done, retry a call until answered, or pause once, within a
deadline; and what a wait tells its caller (an answer worth asking for again, a deadline that ran out,
a hand-over).

Modelled on Terraform's servicecatalog waiters: the status functions and their settings live with
the edge they read (servicecatalog/wait.py); this module only paces and bounds. Every wait of the
function sleeps through a `Sleep` it is given (tests and the local cloud's fault runs pass their own);
`real_sleep` is the only place that really sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sc_plan_provider.core.request import ResourceFailure
from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.waiting.policy import PollSchedule

if TYPE_CHECKING:
    from sc_plan_provider.waiting.deadline import Deadline
    from sc_plan_provider.waiting.policy import PollingPolicy

State = TypeVar("State")
Sleep = Callable[[float], None]


class RetryableError(Exception):
    """A call that got no usable answer yet (throttled past the client's retries, a 5xx, no connection,
    not visible yet): a wait asks again at its next moment. The edges' transient errors derive from it."""


class MissingError(Exception):
    """A read that found nothing. Right after a write that may only mean "not visible yet"
    (visibility.py decides when it is believed); the edges' not-found errors derive from it."""


class NotVisibleYetError(RetryableError):
    """Not found, or found as it was before a write, by a read the visibility rule does not believe
    yet: asked again. `state` is what the read saw, when it saw something (a stale answer)."""

    def __init__(self, message: str, state: Any = None) -> None:
        super().__init__(message)
        self.state = state


class DeadlineExceededError(Exception):
    """A wait ran out of time; `last_status` is what the service said last, `last` the state itself."""

    def __init__(self, what: str, last_status: str, deadline_reason: str, last: Any = None) -> None:
        super().__init__(f"{what} was still {last_status} when {deadline_reason}")
        self.last_status = last_status
        self.last = last


class ContinuationNeeded(Exception):  # noqa: N818 - a control-flow signal, not an error
    """This invocation's own deadline is near and the request is not done: hand it over."""

    def __init__(self, what: str, last_status: str) -> None:
        super().__init__(f"{what} is still {last_status}")


# A call that must happen is retried this soon when unanswered, doubling up to the maximum.
FIRST_RETRY_DELAY_SECONDS = 0.5
MAX_RETRY_DELAY_SECONDS = 8.0


def real_sleep(seconds: float) -> None:
    """The function's one real sleep: everything else waits through the `Sleep` it was given."""
    time.sleep(seconds)


def wait_until(
    poll: Callable[[], State],
    is_done: Callable[[State], bool],
    *,
    describe: Callable[[State], str],
    what: str,
    policy: PollingPolicy,
    deadline: Deadline,
    sleep: Sleep,
    schedule: PollSchedule | None = None,
    anchor: float | None = None,
    initial: State | None = None,
) -> State:
    """Return the first state for which `is_done` holds.

    Polls are scheduled at fixed moments after `anchor` (a `time.monotonic()` value; default: now),
    from `schedule` (default: the policy's intervals), so time spent in the calls themselves does
    not push later polls back, and a continued invocation anchored where the first one was keeps
    its schedule. The first poll is immediate (or `initial`, a state the caller already polled);
    moments already past are skipped. A poll that gets no usable answer (a `RetryableError`:
    throttled, a 5xx, a timeout, not visible yet) is simply retried at the next moment. The last
    wait is cut to land on the deadline and is followed by one final poll, so a result that arrives
    just in time is still seen. Past a continuable deadline (this invocation's own), the request is
    handed over instead of failed; past any other, DeadlineExceededError carries the last state.
    """
    start = time.monotonic() if anchor is None else anchor
    moments = (schedule or PollSchedule(policy)).moments()
    last: State | None = None
    while True:
        try:
            state, initial = (initial, None) if initial is not None else (poll(), None)
        except RetryableError as error:
            logger.info(
                "Poll not answered; trying again at the next interval",
                extra={"what": what, "error": type(error).__name__},
            )
        else:
            if is_done(state):
                return state
            last = state
        remaining = deadline.remaining()
        if remaining <= 0:
            status = "unknown (no answer)" if last is None else describe(last)
            if deadline.continuable:
                raise ContinuationNeeded(what, status)
            raise DeadlineExceededError(what, status, deadline.reason, last)
        elapsed = time.monotonic() - start
        next_poll = next(moment for moment in moments if moment > elapsed)
        sleep(max(0.0, min(start + next_poll - time.monotonic(), remaining)))


def call_until_answered(
    call: Callable[[], State],
    *,
    what: str,
    deadline: Deadline,
    sleep: Sleep,
    retry_on: type[Exception] | tuple[type[Exception], ...] = RetryableError,
    first_delay: float = FIRST_RETRY_DELAY_SECONDS,
    max_delay: float = MAX_RETRY_DELAY_SECONDS,
) -> State:
    """`call()`, retried with backoff while it gets no usable answer (`retry_on`: by default the
    edges' transient errors): for calls that must happen, idempotent ones (tokens) included. Past
    the deadline the last error is raised, or the request handed over (a continuable deadline)."""
    delay = first_delay
    while True:
        try:
            return call()
        except retry_on as error:
            remaining = deadline.remaining()
            if remaining <= delay:
                if deadline.continuable:
                    raise ContinuationNeeded(what, f"unanswered ({type(error).__name__})") from error
                raise
            logger.info("Call not answered; retrying", extra={"what": what, "error": type(error).__name__})
            sleep(delay)
            delay = min(delay * 2, max_delay)


def pause(seconds: float, *, what: str, busy: str, deadline: Deadline, sleep: Sleep) -> None:
    """Wait a moment before looking again while `busy` (another record) runs; with no time left for
    that, hand the request over (a continuable deadline) or fail naming what kept it."""
    if deadline.remaining() <= seconds:
        if deadline.continuable:
            raise ContinuationNeeded(what, f"waiting for {busy}")
        raise ResourceFailure(f"{what}: {busy} kept running until {deadline.reason}")
    sleep(seconds)
