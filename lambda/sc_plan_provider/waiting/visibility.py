"""The one rule for "not found may mean not visible yet": when a read that found nothing is believed.

Right after a write, an eventually consistent service can answer not found for the new thing, or
show it as it was before the write (docs/facts.md#eventual-consistency; terraform-provider-aws's
servicecatalog waiters retry not-found after writes and want several not-found reads before they
believe a product is gone). A `Visibility` says how long and how many reads it takes to believe
it; the edge gives each of its reads one (servicecatalog/wait.py). It is used three ways:

- inside a poll (`Sightings`): a read that found nothing is retried at the poll's next moment
  until the rule believes it;
- to find something (`find`): read, and read again after each of the rule's waits while nothing is
  found (or no answer comes) until the rule believes it;
- to confirm that something is gone (`confirm_missing`): after an answer that found nothing, read
  again after each wait; any read that finds it or gets no answer ends the confirmation;
- to see something as a write left it (`settle`): a stale read, showing it as it was before the
  write, is read again after each wait until the rule gives up on it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypeVar

from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.core.value import Value
from sc_plan_provider.waiting.waiter import MissingError, NotVisibleYetError, RetryableError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sc_plan_provider.waiting.waiter import Sleep

T = TypeVar("T")


class Visibility(Value):
    """A read that finds nothing is believed once `min_reads` reads found nothing and
    `window_seconds` have passed since the first; reads made in a loop are `waits` apart (the last
    wait repeats)."""

    min_reads: int = 1
    window_seconds: float = 0.0
    waits: tuple[float, ...] = (0.0,)

    def wait(self, reads_so_far: int) -> float:
        """The wait before the next read, after `reads_so_far` reads."""
        return self.waits[min(reads_so_far, len(self.waits)) - 1]


class Sightings:
    """The reads of one thing under one rule: counts those that found nothing, says when to believe them."""

    def __init__(self, rule: Visibility) -> None:
        self._rule = rule
        self._since = time.monotonic()
        self.misses = 0

    def believed(self) -> bool:
        """Count one more read that found nothing; True once the rule believes it."""
        self.misses += 1
        return self.misses >= self._rule.min_reads and time.monotonic() - self._since >= self._rule.window_seconds

    def missing(self, error: Exception) -> None:
        """A poll's read found nothing: raise NotVisibleYetError (the poll asks again) until believed."""
        if not self.believed():
            raise NotVisibleYetError(str(error)) from error


def find(
    read: Callable[[], T],
    rule: Visibility,
    *,
    sleep: Sleep,
    retry_on: type[Exception] | tuple[type[Exception], ...] = (MissingError, RetryableError),
) -> T:
    """`read()` until it answers; a read that raises `retry_on` (by default: found nothing, or got no
    usable answer) counts as a miss and is read again after the rule's next wait. Once the rule
    believes the misses, the last read's error is raised."""
    sightings = Sightings(rule)
    while True:
        try:
            return read()
        except retry_on as error:
            if sightings.believed():
                raise
            delay = rule.wait(sightings.misses)
            logger.info("Read not answered yet; retrying", extra={"error": type(error).__name__, "delay": delay})
            _sleep(sleep, delay)


def settle(
    read: Callable[[], T | None], is_settled: Callable[[T], bool], rule: Visibility, *, sleep: Sleep
) -> T | None:
    """`read()` until what it shows `is_settled` (a stale read is read again after the rule's next
    wait); None when it finds nothing; the last read when the rule gives up before any settles."""

    def checked() -> T | None:
        state = read()
        if state is not None and not is_settled(state):
            raise NotVisibleYetError("not settled yet", state)
        return state

    try:
        return find(checked, rule, sleep=sleep, retry_on=NotVisibleYetError)
    except NotVisibleYetError as stale:
        last: T = stale.state
        return last


def confirm_missing(read: Callable[[], object], rule: Visibility, *, sleep: Sleep) -> bool:
    """After an answer that found nothing (it counts as the first miss): True only when the rule
    believes it, every read again after each wait finding nothing (`MissingError`); False as soon
    as a read finds it or gets no answer, which is no proof of absence."""
    sightings = Sightings(rule)
    while not sightings.believed():
        _sleep(sleep, rule.wait(sightings.misses))
        try:
            read()
        except MissingError:
            continue
        except RetryableError:
            return False
        return False
    return True


def _sleep(sleep: Sleep, seconds: float) -> None:
    """A wait of 0 is a read again at once (another replica may answer)."""
    if seconds > 0:
        sleep(seconds)
