"""The waiter's pacing: polls at fixed moments, throttled polls retried, deadlines honoured."""

from __future__ import annotations

import itertools
import time

import pytest

from sc_plan_provider.servicecatalog.calls import ThrottledError
from sc_plan_provider.waiting.deadline import Deadline
from sc_plan_provider.waiting.policy import PollingPolicy
from sc_plan_provider.waiting.waiter import ContinuationNeeded, DeadlineExceededError, real_sleep, wait_until

EVERY_100_MS = PollingPolicy(interval_seconds=0.1, backoff_rate=1.0, max_interval_seconds=0.1)


def test_time_spent_in_calls_does_not_push_later_polls_back() -> None:
    moments: list[float] = []

    def slow_poll() -> int:
        moments.append(time.monotonic())
        time.sleep(0.05)  # a call that takes half the interval
        return len(moments)

    wait_until(
        slow_poll,
        lambda n: n >= 6,
        describe=str,
        what="x",
        policy=EVERY_100_MS,
        deadline=Deadline.after(10, "never"),
        sleep=real_sleep,
    )
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    assert 0.09 < sum(gaps) / len(gaps) < 0.12  # not 0.15: the call time is absorbed


def test_a_throttled_poll_is_retried_at_the_next_interval() -> None:
    answers: list[object] = [ThrottledError("slow down"), ThrottledError("slow down"), "SUCCEEDED"]

    def poll() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    assert (
        wait_until(
            poll,
            lambda s: s == "SUCCEEDED",
            describe=str,
            what="x",
            policy=EVERY_100_MS,
            deadline=Deadline.after(10, "never"),
            sleep=real_sleep,
        )
        == "SUCCEEDED"
    )


@pytest.mark.parametrize(
    ("continuable", "raised", "message"),
    [
        (False, DeadlineExceededError, "record was still IN_PROGRESS when the deadline ran out"),
        (True, ContinuationNeeded, "record is still IN_PROGRESS"),  # this invocation's deadline: hand over
    ],
)
def test_deadlines_fail_or_hand_over(continuable: bool, raised: type[Exception], message: str) -> None:
    deadline = Deadline.after(0.25, "the deadline ran out", continuable=continuable)
    with pytest.raises(raised, match=message):
        wait_until(
            lambda: "IN_PROGRESS",
            lambda s: False,
            describe=str,
            what="record",
            policy=EVERY_100_MS,
            deadline=deadline,
            sleep=real_sleep,
        )


def test_an_anchored_schedule_continues_where_the_first_invocation_left_off() -> None:
    """Anchored at the record's creation 0.55 s ago, the next poll is at 0.6 s, not 0.1 s from now."""
    moments: list[float] = []

    def poll() -> int:
        moments.append(time.monotonic())
        return len(moments)

    anchor = time.monotonic() - 0.55
    wait_until(
        poll,
        lambda n: n >= 2,
        describe=str,
        what="x",
        policy=EVERY_100_MS,
        deadline=Deadline.after(10, "never"),
        anchor=anchor,
        sleep=real_sleep,
    )
    assert 0.04 < moments[1] - moments[0] < 0.09
    assert 0.59 < moments[1] - anchor < 0.64
