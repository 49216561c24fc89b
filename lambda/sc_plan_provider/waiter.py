"""The one waiter: poll a status function on the retry policy until it is done or time runs out.

Modelled on Terraform's servicecatalog waiter: the status functions (plan, record) live with their
callers; this module only paces and bounds the polling.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sc_plan_provider.deadline import Deadline
from sc_plan_provider.errors import ContinuationNeeded, DeadlineExceededError
from sc_plan_provider.polling_policy import PollingPolicy

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
) -> State:
    """Return the first state for which `is_done` holds.

    The last wait is cut to land on the deadline and is followed by one final poll, so a
    result that arrives just in time is still seen. Past a continuable deadline (this
    invocation's own), the request is handed over instead of failed.
    """
    intervals = policy.intervals()
    while True:
        state = poll()
        if is_done(state):
            return state
        remaining = deadline.remaining()
        if remaining <= 0:
            if deadline.continuable:
                raise ContinuationNeeded(what, describe(state))
            raise DeadlineExceededError(what, describe(state), deadline.reason)
        sleep(min(next(intervals), remaining))
