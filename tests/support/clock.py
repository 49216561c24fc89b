"""A clock the test moves by hand, for the emulator's timed states."""

from __future__ import annotations

import time


class ManualClock:
    """Stands in for time.time: moves only when the test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
