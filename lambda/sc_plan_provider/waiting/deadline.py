"""Deadlines on the monotonic clock, each with the reason it ends (for the FAILED reason)."""

from __future__ import annotations

import time

from sc_plan_provider.core.value import Value


class Deadline(Value):
    """A point on `time.monotonic()`; `reason` completes "... was still IN_PROGRESS when <reason>".

    A `continuable` deadline is only this invocation's: the request goes on in a new invocation.
    """

    at: float
    reason: str
    continuable: bool = False

    @classmethod
    def after(cls, seconds: float, reason: str, *, continuable: bool = False) -> Deadline:
        return cls(time.monotonic() + seconds, reason, continuable)

    @classmethod
    def at_epoch(cls, epoch_seconds: float, reason: str) -> Deadline:
        """A deadline fixed in wall-clock time, so every invocation of one request shares it."""
        return cls.after(epoch_seconds - time.time(), reason)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def earliest(self, other: Deadline) -> Deadline:
        return self if self.at <= other.at else other
