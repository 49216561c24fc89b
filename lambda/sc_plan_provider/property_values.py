"""What every property check shares: the error it raises and how it quotes a bad value."""

from __future__ import annotations

from typing import Any

MAX_SHOWN_CHARS = 60


class InvalidPropertyError(ValueError):
    """A property value that can never work; the message names the property and the fix."""


def shown(value: Any) -> str:
    """Quote a bad value for a reason, cut short: reasons must stay small (4096-byte responses)."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "...'"
