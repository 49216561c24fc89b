"""Positions whose invariants are known to fail today: handler bugs reported to the lead, each with
what fails. The sweep (tests/sweep) marks them xfail (strict: when a fix makes one hold, the suite says so and the
entry goes). Patterns are `fnmatch` patterns on a position's key, ``SEQUENCE | SITE | KIND``."""

from __future__ import annotations

import fnmatch

KNOWN: dict[str, str] = {}


def known(position_key: str) -> str | None:
    """Why the position is known to fail, or None."""
    for pattern, reason in KNOWN.items():
        if fnmatch.fnmatchcase(position_key, pattern):
            return reason
    return None
