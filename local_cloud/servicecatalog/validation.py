"""Validate JSON values against botocore's Service Catalog shapes.

The server must check requests itself: callers may bypass botocore's client-side validation, which
checks required members, types and minimums but not maximums, patterns or enums. Each broken
constraint is a ``Violation`` that reads in AWS's wording (``ValidationException``, rules.py rule 7)
or in the emulator's older one (the lenient profile's InvalidParametersException). The same
checker validates the emulator's own responses in the tests, with unknown members rejected.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from local_cloud.servicecatalog.errors import SerializationException
from local_cloud.servicecatalog.rules import ServiceRules

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


def _java_text(value: Any) -> str:
    """A value as AWS's (Java) front end prints it inside 'quotes'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_java_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_text(v)}" for k, v in value.items()) + "}"
    return str(value)


ViolationKind = Literal["null", "size", "pattern", "enum", "type", "unknown"]


@dataclass(frozen=True)
class Violation:
    """One broken constraint: where (in botocore's member names and in AWS's wire wording), what."""

    path: str  # "ProvisioningParameters.1.Key", as botocore names members
    wire_path: str  # "provisioningParameters.1.member.key", as AWS's validation messages do (rules.py, 7)
    value: Any
    kind: ViolationKind
    constraint: str  # "Member must have length less than or equal to 100", "string", ...

    def model_message(self) -> str:
        """The emulator's own wording (the lenient profile's, and output validation's)."""
        if self.kind == "null":
            return f"Value null at '{self.path}' failed to satisfy constraint: {self.constraint}"
        if self.kind == "size":
            return f"Value at '{self.path}' failed to satisfy constraint: {self.constraint}"
        if self.kind == "type":
            return f"Value {_describe(self.value)} at '{self.path}' {self.constraint}"
        if self.kind == "unknown":
            return f"Unknown member '{self.path}'"
        return f"Value {_describe(self.value)} at '{self.path}' failed to satisfy constraint: {self.constraint}"

    def aws_message(self) -> str:
        """AWS's wording: "Value 'x' at 'planId' failed to satisfy constraint: Member must ..."."""
        shown = "null" if self.kind == "null" else f"'{_java_text(self.value)}'"
        return f"Value {shown} at '{self.wire_path}' failed to satisfy constraint: {self.constraint}"


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def violations(
    value: Any, shape: Shape, path: str = "", wire_path: str = "", *, reject_unknown: bool = False
) -> list[Violation]:
    """Every constraint ``value`` breaks; empty when it conforms.

    Mirrors the Smithy constraints in the model: required, type, length/range (min, max), pattern
    (matched against the whole value, as AWS does) and enum.
    """
    if isinstance(shape, StructureShape):
        return _structure_violations(value, shape, path, wire_path, reject_unknown=reject_unknown)
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            return [Violation(path, wire_path, value, "type", "must be a list")]
        found = _size_violations(len(value), value, shape, path, wire_path, what="Member must have length")
        for index, item in enumerate(value):
            found += violations(
                item,
                shape.member,
                f"{path}.{index + 1}",
                f"{wire_path}.{index + 1}.member",
                reject_unknown=reject_unknown,
            )
        return found
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            return [Violation(path, wire_path, value, "type", "must be a map")]
        found = []
        for key, item in value.items():
            found += violations(key, shape.key, f"{path}.key", f"{wire_path}.key", reject_unknown=reject_unknown)
            found += violations(item, shape.value, f"{path}.{key}", f"{wire_path}.{key}", reject_unknown=reject_unknown)
        return found
    return _scalar_violations(value, shape, path, wire_path)


def validate_value(value: Any, shape: Shape, path: str, *, reject_unknown: bool = False) -> list[str]:
    """Every constraint ``value`` breaks, as messages in the emulator's wording; empty when it conforms."""
    return [v.model_message() for v in violations(value, shape, path, path, reject_unknown=reject_unknown)]


def _structure_violations(
    value: Any, shape: StructureShape, path: str, wire_path: str, *, reject_unknown: bool
) -> list[Violation]:
    if not isinstance(value, dict):
        return [Violation(path, wire_path, value, "type", "must be a structure")]
    found = []
    for name in shape.required_members:
        if value.get(name) is None:
            found.append(
                Violation(
                    _join(path, name), _join(wire_path, _lower_camel(name)), None, "null", "Member must not be null"
                )
            )
    for name, item in value.items():
        member = shape.members.get(name)
        member_path, member_wire = _join(path, name), _join(wire_path, _lower_camel(name))
        if member is None:
            if reject_unknown:
                found.append(Violation(member_path, member_wire, item, "unknown", "Unknown member"))
            continue
        if item is not None:
            found += violations(item, member, member_path, member_wire, reject_unknown=reject_unknown)
    return found


def _scalar_violations(value: Any, shape: Shape, path: str, wire_path: str) -> list[Violation]:
    kind = shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            return [Violation(path, wire_path, value, "type", "must be a string")]
        found = _size_violations(len(value), value, shape, path, wire_path, what="Member must have length")
        pattern = shape.metadata.get("pattern")
        if pattern is not None and _compile(pattern).fullmatch(value) is None:
            constraint = f"Member must satisfy regular expression pattern: {pattern}"
            found.append(Violation(path, wire_path, value, "pattern", constraint))
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            constraint = f"Member must satisfy enum value set: [{', '.join(enum)}]"
            found.append(Violation(path, wire_path, value, "enum", constraint))
        return found
    if kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return [Violation(path, wire_path, value, "type", "must be an integer")]
        return _size_violations(value, value, shape, path, wire_path, what="Member must have value")
    if kind in ("float", "double"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            return [Violation(path, wire_path, value, "type", "must be a number")]
        return _size_violations(value, value, shape, path, wire_path, what="Member must have value")
    if kind == "boolean":
        return [] if isinstance(value, bool) else [Violation(path, wire_path, value, "type", "must be a boolean")]
    if kind == "timestamp":
        if isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool)):
            return []
        return [Violation(path, wire_path, value, "type", "must be a timestamp")]
    if kind == "blob":
        return [] if isinstance(value, str) else [Violation(path, wire_path, value, "type", "must be base64 text")]
    return [Violation(path, wire_path, value, "type", f"has shape type {kind!r}, not supported by the emulator")]


def _size_violations(size: float, value: Any, shape: Shape, path: str, wire_path: str, *, what: str) -> list[Violation]:
    found = []
    minimum, maximum = shape.metadata.get("min"), shape.metadata.get("max")
    if minimum is not None and size < minimum:
        found.append(Violation(path, wire_path, value, "size", f"{what} greater than or equal to {minimum}"))
    if maximum is not None and size > maximum:
        found.append(Violation(path, wire_path, value, "size", f"{what} less than or equal to {maximum}"))
    return found


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# How AWS's JSON 1.1 front end names a JSON value it cannot read as the member's type (rules.py, 7).
_JSON_KINDS = {bool: "BOOLEAN_VALUE", str: "STRING_VALUE", int: "NUMBER_VALUE", float: "NUMBER_VALUE"}
_MEMBER_TYPES = {
    "must be a string": "a String",
    "must be an integer": "an Integer",
    "must be a number": "a Double",
    "must be a boolean": "a Boolean",
    "must be a timestamp": "a Date",
    "must be base64 text": "a ByteBuffer",
}


def _serialization_error(violation: Violation) -> SerializationException:
    if isinstance(violation.value, dict):
        return SerializationException("Start of structure or map found where not expected.")
    if isinstance(violation.value, list):
        return SerializationException("Start of list found where not expected")
    json_kind = _JSON_KINDS.get(type(violation.value), "VALUE")
    target = _MEMBER_TYPES.get(violation.constraint, "the member's type")
    return SerializationException(f"{json_kind} can not be converted to {target}")


def validate_input(operation: OperationModel, params: Mapping[str, Any], rules: ServiceRules | None = None) -> None:
    """Raise the rules' error (ValidationException on AWS) listing every broken constraint of the request.

    Under AWS's wording a member of the wrong JSON type fails before any constraint is checked,
    as a SerializationException.
    """
    if operation.input_shape is None:
        return
    found = violations(dict(params), operation.input_shape)
    if not found:
        return
    chosen = rules or ServiceRules.lenient()
    if chosen.malformed_input_error == "ValidationException":
        wrong_type = next((v for v in found if v.kind == "type"), None)
        if wrong_type is not None:
            raise _serialization_error(wrong_type)
    raise chosen.input_error(len(found), [v.aws_message() for v in found], [v.model_message() for v in found])


def validate_output(operation: OperationModel, body: Mapping[str, Any]) -> list[str]:
    """Every way a raw response body breaks the operation's output shape (unknown members included)."""
    if operation.output_shape is None:
        return [] if not body else ["Operation has no output shape but the body is not empty"]
    return validate_value(dict(body), operation.output_shape, "", reject_unknown=True)
