"""What every property check shares: the error it raises, how it quotes a bad value, and the shape
of Service Catalog's ids (a spec's names and ARNs are spec_checks.py's).

The shapes are character sets rather than regular expressions: compiling patterns costs every cold
start a few milliseconds, checking a short string against a set costs microseconds.
"""

from __future__ import annotations

from string import ascii_letters, digits
from typing import Any, TypeGuard

MAX_SHOWN_CHARS = 60
MAX_ID_CHARS = 100
ID_CHARS = frozenset(ascii_letters + digits + "_-")


class InvalidPropertyError(ValueError):
    """A property value that can never work; the message names the property and the fix."""


def shown(value: Any) -> str:
    """Quote a bad value for a reason, cut short: reasons must stay small (4096-byte responses)."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "...'"


def is_id(value: Any) -> TypeGuard[str]:
    """1-100 of letters, digits, '_' and '-': plan, product, artifact and path ids."""
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and set(value) <= ID_CHARS
