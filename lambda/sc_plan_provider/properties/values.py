"""What every property check shares: the error it raises, how it quotes a bad value, and the shapes
of Service Catalog's ids, names and ARNs.

The shapes are character sets rather than regular expressions: compiling patterns costs every cold
start a few milliseconds, checking a short string against a set costs microseconds.
"""

from __future__ import annotations

from string import ascii_letters, ascii_lowercase, digits
from typing import Any, TypeGuard

MAX_SHOWN_CHARS = 60
MAX_ID_CHARS = 100
MAX_NAME_CHARS = 128
MAX_ARN_RESOURCE_CHARS = 1024
MAX_ARN_CHARS = 1224
MAX_ARN_PART_CHARS = 63
ID_CHARS = frozenset(ascii_letters + digits + "_-")
NAME_CHARS = frozenset(ascii_letters + digits + "._-")
ARN_PART_CHARS = frozenset(ascii_lowercase + digits + "-.")


class InvalidPropertyError(ValueError):
    """A property value that can never work; the message names the property and the fix."""


def shown(value: Any) -> str:
    """Quote a bad value for a reason, cut short: reasons must stay small (4096-byte responses)."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "...'"


def is_id(value: Any) -> TypeGuard[str]:
    """1-100 of letters, digits, '_' and '-': plan, product, artifact and path ids."""
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and set(value) <= ID_CHARS


def is_name(value: Any) -> TypeGuard[str]:
    """A provisioned product name: 1-128 of letters, digits, '.', '_' and '-', not starting with punctuation."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_NAME_CHARS
        and value[0].isascii()
        and value[0].isalnum()
        and set(value) <= NAME_CHARS
    )


def is_arn(value: Any) -> TypeGuard[str]:
    """arn:partition:service:region:account:resource, as Service Catalog's NotificationArns accept."""
    if not isinstance(value, str) or len(value) > MAX_ARN_CHARS:
        return False
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1]:
        return False
    resource = parts[5]
    return (
        all(len(part) <= MAX_ARN_PART_CHARS and set(part) <= ARN_PART_CHARS for part in parts[1:5])
        and 0 < len(resource) <= MAX_ARN_RESOURCE_CHARS
        and not resource.startswith("/")
        and "\n" not in resource[1:]
    )
