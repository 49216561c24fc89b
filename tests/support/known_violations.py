"""Positions whose invariants are known to fail today, each with what fails. The sweep (tests/sweep)
marks them xfail: strict (when a fix makes one hold, the suite says so and the entry goes), except
the few in `SOMETIMES`, whose failure depends on timing. Patterns are `fnmatch` patterns on a
position's key, ``SEQUENCE | SITE | KIND``."""

from __future__ import annotations

import fnmatch

# None since issue 23: an answer is recorded with its claim and a failing delivery is handed on
# until ServiceTimeout (the PUT-window cases), and Lambda's retry of a holder whose delivered answer
# could not be recorded asks CloudFormation before sending it again (the request-table case).
KNOWN: dict[str, str] = {}


# Known failures that depend on timing, so that a run sometimes holds: marked xfail without strict.
SOMETIMES: tuple[str, ...] = ()


def always_fails(position_key: str) -> bool:
    """Whether a known failure fails on every run (strict xfail) or only on some (timing)."""
    return not any(fnmatch.fnmatchcase(position_key, pattern) for pattern in SOMETIMES)


def known(position_key: str) -> str | None:
    """Why the position is known to fail, or None."""
    for pattern, reason in KNOWN.items():
        if fnmatch.fnmatchcase(position_key, pattern):
            return reason
    return None
