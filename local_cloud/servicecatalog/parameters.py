"""Provisioning parameters: resolving UsePreviousValue and comparing versions.

The emulator models no templates, so it cannot know parameter defaults: a product's parameters are
exactly the resolved list of the request that last succeeded. As in CloudFormation, a key left out
of an update is not carried over (it would take the template's default), which is why callers who
mean "keep it" must say UsePreviousValue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from local_cloud.servicecatalog.errors import InvalidParametersException


def resolve_parameters(
    requested: Sequence[Mapping[str, Any]],
    current: Sequence[Mapping[str, str]],
    *,
    has_previous: bool = True,
) -> list[dict[str, str]]:
    """The [{Key, Value}] a request applies: UsePreviousValue takes the product's current value.

    ``has_previous=False`` (a product that was never provisioned) drops UsePreviousValue entries,
    as there is no previous value to use; otherwise UsePreviousValue on a key the product does not
    have is refused, as CloudFormation refuses it.
    """
    previous = {p["Key"]: p["Value"] for p in current}
    resolved: list[dict[str, str]] = []
    seen: set[str] = set()
    for parameter in requested:
        key = parameter.get("Key")
        if not key:
            raise InvalidParametersException("Every provisioning parameter needs a Key.")
        if key in seen:
            raise InvalidParametersException(f"Provisioning parameter {key} is given more than once.")
        seen.add(key)
        if parameter.get("UsePreviousValue"):
            if not has_previous:
                continue
            if key not in previous:
                raise InvalidParametersException(
                    f"Provisioning parameter {key} has no previous value; UsePreviousValue cannot be true for it."
                )
            resolved.append({"Key": key, "Value": previous[key]})
            continue
        value = parameter.get("Value")
        if value is None:
            raise InvalidParametersException(f"Provisioning parameter {key} needs a Value or UsePreviousValue.")
        resolved.append({"Key": key, "Value": str(value)})
    return resolved


def same_parameters(left: Sequence[Mapping[str, str]], right: Sequence[Mapping[str, str]]) -> bool:
    """Whether two [{Key, Value}] lists set the same values, whatever their order."""
    return {p["Key"]: p["Value"] for p in left} == {p["Key"]: p["Value"] for p in right}
