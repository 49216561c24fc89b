"""Deadlines on the monotonic clock, each with the reason it ends (for the FAILED reason)."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    """A point on `time.monotonic()`; `reason` completes "... was still IN_PROGRESS when <reason>"."""

    at: float
    reason: str

    @classmethod
    def after(cls, seconds: float, reason: str) -> Deadline:
        return cls(time.monotonic() + seconds, reason)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def earliest(self, other: Deadline) -> Deadline:
        return self if self.at <= other.at else other
