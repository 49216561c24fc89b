"""The learned schedule as a pure function of (history, elapsed time, policy), on a simulated clock.

Each case runs provisionings of a cell (durations spread over the defaults' polling interval around
the nominal duration, as `make bench` does) through the schedule's moments with polls that take no
time, and checks issue 11's goals: median lateness <= 2 s with fewer calls than the fixed 5 s
interval, and, when the history is missing or wrong (3x or 1/3 of this run), the defaults' lateness.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence

import pytest

from sc_plan_provider.properties.resource import InvalidPropertyError, parse_properties
from sc_plan_provider.waiting.policy import PollingPolicy, PollSchedule, next_poll, policy_moments, poll_moments

DEFAULTS = PollingPolicy()
FIXED_5S = PollingPolicy(5.0, 1.0, 5.0)
DURATIONS = (3.0, 60.0, 600.0, 2400.0)
# Headroom for what a real poll costs (round trip, the answer's PUT) within the 2 s goal.
MODEL_LATENESS_GOAL_S = 1.5


def answer(durations: Sequence[float], policy: PollingPolicy, run: float) -> tuple[float, int]:
    """(lateness, DescribeRecord calls) of a run: the first poll at or after its end."""
    for calls, moment in enumerate(poll_moments(durations, policy), start=1):
        if moment >= run:
            return moment - run, calls
    raise AssertionError("unreachable")


def cell(nominal: float) -> list[float]:
    """Eight runs evenly over the defaults' interval around `nominal` (at most +-10 %)."""
    previous = 0.0
    for moment in policy_moments(DEFAULTS):
        if moment >= nominal:
            break
        previous = moment
    width = min(0.2 * nominal, moment - previous)
    return [nominal + ((i + 0.5) / 8 - 0.5) * width for i in range(8)]


def similar(nominal: float) -> list[float]:
    """Five earlier records within +-5 % of `nominal`, newest first."""
    return [nominal * (1 + f) for f in (0.02, -0.05, 0.0, 0.05, -0.025)]


@pytest.mark.parametrize("nominal", DURATIONS)
def test_history_of_similar_durations_answers_within_2_s_with_fewer_calls(nominal: float) -> None:
    runs = cell(nominal)
    learned = [answer(similar(nominal), DEFAULTS, run) for run in runs]
    defaults = [answer((), DEFAULTS, run) for run in runs]
    fixed = [answer((), FIXED_5S, run) for run in runs]
    assert statistics.median(late for late, _ in learned) <= MODEL_LATENESS_GOAL_S
    calls = statistics.mean(c for _, c in learned)
    if nominal >= 600:
        assert calls <= statistics.mean(c for _, c in fixed) / 2
    else:
        assert calls <= statistics.mean(c for _, c in defaults)


@pytest.mark.parametrize(("nominal", "wrong"), list(itertools.product(DURATIONS, (1 / 3, 3.0, None))))
def test_missing_or_wrong_history_is_never_answered_later_than_the_defaults(
    nominal: float, wrong: float | None
) -> None:
    """History that says 1/3 or 3x of this run's duration (or nothing): every run is answered at the
    defaults' own moment; calls stay within the defaults' bound (<= 60 at 10 minutes, and at most
    10 % above the defaults' count anywhere: the dense window around the wrong expectation)."""
    history = () if wrong is None else similar(nominal / wrong)
    for run in cell(nominal):
        late, calls = answer(history, DEFAULTS, run)
        default_late, default_calls = answer((), DEFAULTS, run)
        assert late <= default_late + 1e-9
        assert calls <= max(default_calls * 1.1, default_calls + 1)
        if nominal == 600:
            assert calls <= 60


def test_without_history_the_schedule_is_the_policy() -> None:
    assert list(itertools.islice(poll_moments((), DEFAULTS), 60)) == list(
        itertools.islice(policy_moments(DEFAULTS), 60)
    )
    assert not PollSchedule(DEFAULTS, (0.0,)).learned  # zero-length records teach nothing


def test_a_short_surprise_is_polled_as_the_defaults_poll() -> None:
    """Up to a third of the shortest past run (+20 %), the moments are exactly the policy's."""
    history = similar(600.0)
    early = list(itertools.takewhile(lambda m: m <= min(history) / 3 * 1.2, policy_moments(DEFAULTS)))
    assert list(itertools.islice(poll_moments(history, DEFAULTS), len(early))) == early


@pytest.mark.parametrize("history", [similar(3.0), similar(600.0), [5.0, 900.0, 50.0], [0.2]])
def test_moments_increase_and_follow_the_policy_after_the_window(history: list[float]) -> None:
    moments = list(itertools.takewhile(lambda m: m < 4000, poll_moments(history, DEFAULTS)))
    assert all(b > a for a, b in itertools.pairwise(moments))
    tail = [m for m in moments if m > max(history) * 1.5 + 10]
    own = itertools.takewhile(lambda m: m < 4000, policy_moments(DEFAULTS))
    assert tail == [m for m in own if tail[0] <= m]


def test_the_schedule_scales_with_the_policy_and_the_history() -> None:
    """Time-scaled runs (make bench) poll at the scaled moments of the unscaled schedule."""
    scale = 0.1
    scaled_policy = PollingPolicy(DEFAULTS.interval_seconds * scale, 1.1, DEFAULTS.max_interval_seconds * scale)
    full = list(itertools.islice(poll_moments(similar(600.0), DEFAULTS), 80))
    scaled = list(itertools.islice(poll_moments([d * scale for d in similar(600.0)], scaled_policy), 80))
    assert scaled == pytest.approx([m * scale for m in full])


def test_next_poll_is_a_pure_function_of_elapsed_time() -> None:
    """A continued invocation asks at its elapsed time and lands on the same moments."""
    history = similar(600.0)
    moments = list(itertools.takewhile(lambda m: m < 700, poll_moments(history, DEFAULTS)))
    for before, after in itertools.pairwise(moments):
        assert next_poll(history, DEFAULTS, (before + after) / 2) == after
        assert next_poll(history, DEFAULTS, before) == after


@pytest.mark.parametrize(
    ("raw", "learned"),
    [
        ({}, True),
        ({"PollingIntervalSeconds": "2"}, False),  # explicit polling properties win
        ({"PollingBackoffRate": "1.5", "LearnedPolling": "true"}, True),  # ... unless learning is asked for
        ({"LearnedPolling": "False"}, False),
        ({"LearnedPolling": ""}, True),
    ],
)
def test_learned_polling_property(raw: dict[str, str], learned: bool) -> None:
    assert parse_properties({"PlanId": "plan-1", **raw}).learned_polling is learned


def test_learned_polling_must_be_a_boolean() -> None:
    with pytest.raises(InvalidPropertyError, match='LearnedPolling "yes" is not a boolean: use "true" or "false"'):
        parse_properties({"PlanId": "plan-1", "LearnedPolling": "yes"})
