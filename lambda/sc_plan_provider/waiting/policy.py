"""The Step Functions-style retry policy that paces every wait on Service Catalog, and the schedule
a record is polled by, learned from how long the product's earlier records took.

Kept free of boto3 and Powertools so the CDK construct can import the same defaults and limits
when it validates its props at synth time. The schedule is a pure function of (past durations,
policy, time since the record started): no clock, no AWS, so it is unit-tested with a simulated
clock and a continued invocation computes the very same moments.

The learned schedule is the policy's own schedule with one stretch replaced (all times from the
record's creation; lo, hi and the median m are the shortest, longest and median past duration):

1. Until a third of the shortest past run (plus a margin) it polls exactly as the policy does, so
   a run that ends far sooner than any before is caught as soon as without history.
2. Then it sleeps cheaply: each wait as long as the time elapsed, until shortly before lo.
3. Around the past durations [lo - pad, hi + pad] it polls densely: one policy interval apart at
   m, the gap growing by 0.2 s per second away from m, so the spread of past runs is covered
   with a logarithmic number of calls.
4. After that window it is the policy's schedule again, at the policy's moments: a run that takes
   longer than any before is answered exactly as late as without history, and the calls spent in
   steps 2-3 are fewer than the policy would have spent over the same stretch.

Without history (no usable past records) the schedule is the policy's schedule.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from sc_plan_provider.core.value import Value

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


# Defaults chosen so that (with the waiter's deadline) a provisioning of up to a minute is reported
# within ~2 s median and never more than 10 s late (the interval at 60 s is ~7 s), while a
# 10-minute provisioning costs fewer than 60 DescribeRecord calls (the interval caps at 30 s).
DEFAULT_INTERVAL_SECONDS = 1.0
DEFAULT_BACKOFF_RATE = 1.1
DEFAULT_MAX_INTERVAL_SECONDS = 30.0

MIN_INTERVAL_SECONDS = 0.1
MAX_INTERVAL_SECONDS = 300.0
MIN_BACKOFF_RATE = 1.0
MAX_BACKOFF_RATE = 10.0
MAX_MAX_INTERVAL_SECONDS = 900.0


class PollingPolicy(Value):
    """First interval, backoff rate and maximum interval, as in a Step Functions `Retry` block."""

    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    backoff_rate: float = DEFAULT_BACKOFF_RATE
    max_interval_seconds: float = DEFAULT_MAX_INTERVAL_SECONDS

    def intervals(self) -> Iterator[float]:
        """Yield the wait before each poll: interval x rate^n, never above the maximum interval."""
        interval = self.interval_seconds
        while True:
            yield min(interval, self.max_interval_seconds)
            interval = min(interval * self.backoff_rate, self.max_interval_seconds)


# Step 1 covers runs up to this fraction of the shortest past duration, plus the margin.
SHORT_SURPRISE_FRACTION = 1 / 3
SURPRISE_MARGIN = 0.2
# Step 2: each wait is this fraction of the time elapsed; waits shorter than a policy interval are
# not worth a call of their own.
SLEEP_FRACTION = 1.0
# Step 3: the densest gap, in policy intervals, and how fast the gap grows away from the median.
DENSE_INTERVALS = 1.0
DENSE_GROWTH = 0.2
# The window reaches this fraction of the median beyond the past durations (at least two dense gaps).
WINDOW_PAD_FRACTION = 0.01
# Only the most recent records count: products and their templates change.
MAX_HISTORY = 20


def _median(values: Sequence[float]) -> float:
    """The median (statistics.median's result; its module alone costs a cold start ~10 ms)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def policy_moments(policy: PollingPolicy) -> Iterator[float]:
    """The policy's own poll moments, from 0: interval x rate^n apart, capped (infinite)."""
    moment = 0.0
    for interval in policy.intervals():
        yield moment
        moment += interval


def poll_moments(durations: Sequence[float], policy: PollingPolicy) -> Iterator[float]:
    """Every poll moment (seconds after the record's creation), strictly increasing, infinite."""
    history = [d for d in durations[:MAX_HISTORY] if d > 0]
    if not history:
        yield from policy_moments(policy)
        return
    lo, hi, middle = min(history), max(history), _median(history)
    dense = DENSE_INTERVALS * policy.interval_seconds
    pad = max(2 * dense, WINDOW_PAD_FRACTION * middle)
    window_start, window_end = max(lo - pad, 0.0), hi + pad
    surprise_end = lo * SHORT_SURPRISE_FRACTION * (1 + SURPRISE_MARGIN)

    horizon = window_end + 2 * policy.max_interval_seconds
    own = list(itertools.takewhile(lambda m: m <= horizon, policy_moments(policy)))
    # 1. the policy's moments while a short surprise is still possible
    early = [m for m in own if m <= surprise_end and m < window_start] or [0.0]
    yield from early
    last = early[-1]
    # 2. sleep: few, long waits up to the window
    while True:
        wait = max(SLEEP_FRACTION * last, policy.interval_seconds)
        if last + wait >= window_start - dense:
            break
        last += wait
        yield last
    # 3. dense around the past durations; a moment close before one of the policy's moves onto it,
    # so a run longer than the window is answered at the policy's moments without an extra call
    moment = max(window_start, last + min(dense, policy.interval_seconds))
    while moment < window_end:
        gap = dense + DENSE_GROWTH * abs(moment - middle)
        moment = next((m for m in own if moment <= m <= moment + gap / 2), moment)
        yield moment
        last = moment
        moment += gap
    # 4. the policy's own moments after the window
    for moment in policy_moments(policy):
        if moment > last:
            yield moment


class PollSchedule(Value):
    """What the waiter follows: the policy, and the past durations it learns from (none: the policy)."""

    policy: PollingPolicy
    durations: tuple[float, ...] = ()

    @property
    def learned(self) -> bool:
        return any(d > 0 for d in self.durations[:MAX_HISTORY])

    def moments(self) -> Iterator[float]:
        return poll_moments(self.durations, self.policy)


def next_poll(durations: Sequence[float], policy: PollingPolicy, elapsed: float) -> float:
    """The first poll moment after `elapsed` seconds since the record's creation."""
    for moment in poll_moments(durations, policy):
        if moment > elapsed:
            return moment
    raise AssertionError("unreachable: poll_moments is infinite")
