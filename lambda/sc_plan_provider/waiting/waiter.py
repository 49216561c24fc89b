"""The one waiter: poll a status function on the retry policy until it is done or time runs out.

Modelled on Terraform's servicecatalog waiter: the status functions (plan, record) live with their
callers; this module only paces and bounds the polling.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sc_plan_provider.core.errors import ContinuationNeeded, DeadlineExceededError
from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.servicecatalog.calls import TransientError
from sc_plan_provider.waiting.deadline import Deadline
from sc_plan_provider.waiting.policy import PollingPolicy
from sc_plan_provider.waiting.schedule import PollSchedule

State = TypeVar("State")


def wait_until(
    poll: Callable[[], State],
    is_done: Callable[[State], bool],
    *,
    describe: Callable[[State], str],
    what: str,
    policy: PollingPolicy,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
    schedule: PollSchedule | None = None,
    anchor: float | None = None,
    initial: State | None = None,
) -> State:
    """Return the first state for which `is_done` holds.

    Polls are scheduled at fixed moments after `anchor` (a `time.monotonic()` value; default: now),
    from `schedule` (default: the policy's intervals), so time spent in the calls themselves does
    not push later polls back, and a continued invocation anchored where the first one was keeps
    its schedule. The first poll is immediate (or `initial`, a state the caller already polled);
    moments already past are skipped. A poll that gets no usable answer (throttled, a 5xx, a
    timeout, not visible yet) is simply retried at the next moment. The
    last wait is cut to land on the deadline and is followed by one final poll, so a result that
    arrives just in time is still seen. Past a continuable deadline (this invocation's own), the
    request is handed over instead of failed.
    """
    start = time.monotonic() if anchor is None else anchor
    moments = (schedule or PollSchedule(policy)).moments()
    last: State | None = None
    while True:
        try:
            state, initial = (initial, None) if initial is not None else (poll(), None)
        except TransientError as error:
            # Throttled, a 5xx, no answer, or not visible yet (eventual consistency).
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
            raise DeadlineExceededError(what, status, deadline.reason)
        elapsed = time.monotonic() - start
        next_poll = next(moment for moment in moments if moment > elapsed)
        sleep(max(0.0, min(start + next_poll - time.monotonic(), remaining)))


def call_until_answered(
    call: Callable[[], State],
    *,
    what: str,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
    first_delay: float = 0.5,
    max_delay: float = 8.0,
) -> State:
    """`call()`, retried with backoff while it gets no usable answer (throttled past botocore's
    retries, a 5xx, a timeout): for calls that must happen, idempotent ones (tokens) included.
    Past the deadline the last error is raised, or the request handed over (a continuable deadline)."""
    delay = first_delay
    while True:
        try:
            return call()
        except TransientError as error:
            remaining = deadline.remaining()
            if remaining <= delay:
                if deadline.continuable:
                    raise ContinuationNeeded(what, f"unanswered ({type(error).__name__})") from error
                raise
            logger.info("Call not answered; retrying", extra={"what": what, "error": type(error).__name__})
            sleep(delay)
            delay = min(delay * 2, max_delay)
