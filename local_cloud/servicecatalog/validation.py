"""Validate JSON values against botocore's Service Catalog shapes.

The server must check requests itself: callers may bypass botocore's client-side validation, which
checks required members, types and minimums but not maximums, patterns or enums. The same checker
validates the emulator's own responses in the tests, with unknown members rejected.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from local_cloud.servicecatalog.errors import InvalidParametersException

# Python's re has no Unicode property classes; the model only uses \p{L}, \p{N} and \p{Z} inside
# character classes, where "\w" is exactly letters + numbers + "_" (and "_" is always allowed
# alongside), and "\s" is a slightly wider stand-in for separators.
_UNICODE_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\w", r"\p{Z}": r"\s"}


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    for java_class, python_class in _UNICODE_CLASSES.items():
        pattern = pattern.replace(java_class, python_class)
    return re.compile(pattern)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_value(value: Any, shape: Shape, path: str, *, reject_unknown: bool = False) -> list[str]:
    """Every constraint ``value`` breaks, as AWS-style messages; empty when it conforms.

    Mirrors the Smithy constraints in the model: required, type, length/range (min, max), pattern
    (matched against the whole value, as AWS does) and enum.
    """
    if isinstance(shape, StructureShape):
        return _validate_structure(value, shape, path, reject_unknown=reject_unknown)
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            return [f"Value {_describe(value)} at '{path}' must be a list"]
        problems = _check_size(len(value), shape, path, "Member must have length")
        for index, item in enumerate(value):
            problems += validate_value(item, shape.member, f"{path}.{index + 1}", reject_unknown=reject_unknown)
        return problems
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            return [f"Value {_describe(value)} at '{path}' must be a map"]
        problems = []
        for key, item in value.items():
            problems += validate_value(key, shape.key, f"{path}.key", reject_unknown=reject_unknown)
            problems += validate_value(item, shape.value, f"{path}.{key}", reject_unknown=reject_unknown)
        return problems
    return _validate_scalar(value, shape, path)


def _validate_structure(value: Any, shape: StructureShape, path: str, *, reject_unknown: bool) -> list[str]:
    if not isinstance(value, dict):
        return [f"Value {_describe(value)} at '{path}' must be a structure"]
    problems = []
    for name in shape.required_members:
        if value.get(name) is None:
            problems.append(
                f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null"
            )
    for name, item in value.items():
        member = shape.members.get(name)
        if member is None:
            if reject_unknown:
                problems.append(f"Unknown member '{_join(path, name)}'")
            continue
        if item is not None:
            problems += validate_value(item, member, _join(path, name), reject_unknown=reject_unknown)
    return problems


def _validate_scalar(value: Any, shape: Shape, path: str) -> list[str]:
    kind = shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            return [f"Value {_describe(value)} at '{path}' must be a string"]
        problems = _check_size(len(value), shape, path, "Member must have length")
        pattern = shape.metadata.get("pattern")
        if pattern is not None and _compile(pattern).fullmatch(value) is None:
            problems.append(
                f"Value {_describe(value)} at '{path}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {pattern}"
            )
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            problems.append(
                f"Value {_describe(value)} at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(enum)}]"
            )
        return problems
    if kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"Value {_describe(value)} at '{path}' must be an integer"]
        return _check_size(value, shape, path, "Member must have value")
    if kind in ("float", "double"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            return [f"Value {_describe(value)} at '{path}' must be a number"]
        return _check_size(value, shape, path, "Member must have value")
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"Value {_describe(value)} at '{path}' must be a boolean"]
    if kind == "timestamp":
        if isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool)):
            return []
        return [f"Value {_describe(value)} at '{path}' must be a timestamp"]
    if kind == "blob":
        return [] if isinstance(value, str) else [f"Value {_describe(value)} at '{path}' must be base64 text"]
    return [f"Shape type {kind!r} at '{path}' is not supported by the emulator"]


def _check_size(size: float, shape: Shape, path: str, what: str) -> list[str]:
    problems = []
    minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
    if minimum is not None and size < minimum:
        problems.append(f"Value at '{path}' failed to satisfy constraint: {what} greater than or equal to {minimum}")
    if maximum is not None and size > maximum:
        problems.append(f"Value at '{path}' failed to satisfy constraint: {what} less than or equal to {maximum}")
    return problems


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def validate_input(operation: OperationModel, params: Mapping[str, Any]) -> None:
    """Raise InvalidParametersException listing every broken constraint of the request."""
    if operation.input_shape is None:
        return
    problems = validate_value(dict(params), operation.input_shape, "")
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise InvalidParametersException(f"{count} validation {noun} detected: " + "; ".join(problems))


def validate_output(operation: OperationModel, body: Mapping[str, Any]) -> list[str]:
    """Every way a raw response body breaks the operation's output shape (unknown members included)."""
    if operation.output_shape is None:
        return [] if not body else ["Operation has no output shape but the body is not empty"]
    return validate_value(dict(body), operation.output_shape, "", reject_unknown=True)
