"""Custom resources as a synthesized template declares them, ready for the driver.

The demo and the end-to-end tests send CloudFormation exactly what `cdk synth` wrote: the resource's
logical id, its properties (every value as CloudFormation would pass it) and its ServiceTimeout.
The ServiceToken is the driver's to fill in: it names the local function instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from local_cloud.cloudformation.stack import CustomResource

STACK_ARTIFACT = "aws:cloudformation:stack"
NOT_FORWARDED = ("ServiceToken", "ServiceTimeout")


def custom_resources_in_template(template: dict[str, Any], resource_type: str) -> list[CustomResource]:
    """Every resource of `resource_type` in a template, in template order."""
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != resource_type:
            continue
        properties: dict[str, Any] = dict(resource.get("Properties", {}))
        timeout = properties.get("ServiceTimeout")
        found.append(
            CustomResource(
                logical_id,
                {key: value for key, value in properties.items() if key not in NOT_FORWARDED},
                resource_type,
                service_timeout=int(timeout) if timeout is not None else None,
            )
        )
    return found


def custom_resources_in_assembly(cdk_out: Path, resource_type: str) -> list[CustomResource]:
    """Every resource of `resource_type` in the stacks of a cloud assembly (`cdk.out`)."""
    manifest = json.loads((cdk_out / "manifest.json").read_text(encoding="utf-8"))
    found: list[CustomResource] = []
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("type") == STACK_ARTIFACT:
            template = json.loads((cdk_out / artifact["properties"]["templateFile"]).read_text(encoding="utf-8"))
            found.extend(custom_resources_in_template(template, resource_type))
    return found


class UnresolvableError(ValueError):
    """A template value needs something only a deployment knows (or an intrinsic not supported here)."""


NO_VALUE = "AWS::NoValue"


class _NoValue:
    """``{"Ref": "AWS::NoValue"}``: the property (or list item) is left out, as CloudFormation does."""


_REMOVED = _NoValue()


def resolve_intrinsics(
    value: Any,
    *,
    refs: Mapping[str, Any] | None = None,
    imports: Mapping[str, str] | None = None,
    attributes: Mapping[str, str] | None = None,
    conditions: Mapping[str, bool] | None = None,
) -> Any:
    """Replace ``Ref``, ``Fn::ImportValue``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``, ``Fn::Select``,
    ``Fn::Split`` and ``Fn::If`` with what CloudFormation would pass (``AWS::NoValue`` leaves the
    property or list item out).

    ``refs`` maps parameter and logical ids (and pseudo parameters) to values, ``imports`` maps
    export names to values, ``attributes`` maps ``"<LogicalId>.<Attribute>"`` to values,
    ``conditions`` the template's conditions (``evaluate_conditions``). Any other intrinsic
    (``Fn::FindInMap``...), or a name missing from its mapping, raises UnresolvableError: a test
    should not silently send CloudFormation something it never would.
    """
    resolved = _resolve(value, refs, imports, attributes, conditions)
    return None if resolved is _REMOVED else resolved


def _resolve(
    value: Any,
    refs: Mapping[str, Any] | None,
    imports: Mapping[str, str] | None,
    attributes: Mapping[str, str] | None,
    conditions: Mapping[str, bool] | None,
) -> Any:
    def resolve(inner: Any) -> Any:
        return _resolve(inner, refs, imports, attributes, conditions)

    if isinstance(value, list):
        return [item for item in (resolve(each) for each in value) if item is not _REMOVED]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return _REMOVED if argument == NO_VALUE else _lookup(refs, argument, "Ref")
        if key == "Fn::If":
            return resolve(_branch(argument, conditions, value))
        if key == "Fn::ImportValue":
            return _lookup(imports, resolve(argument), "Fn::ImportValue")
        if key == "Fn::GetAtt":
            target = ".".join(argument) if isinstance(argument, list) else argument
            return _lookup(attributes, target, "Fn::GetAtt")
        if key == "Fn::Sub":
            return _sub(argument, resolve, refs, attributes)
        functions = {"Fn::Join": _join, "Fn::Select": _select, "Fn::Split": _split}
        if key in functions:
            return functions[key](resolve(argument), value)
        if key.startswith("Fn::") or key == "Condition":
            raise UnresolvableError(f"{key} is not resolved locally: {value!r}")
    resolved = {k: resolve(v) for k, v in value.items()}
    return {k: v for k, v in resolved.items() if v is not _REMOVED}


def _branch(argument: Any, conditions: Mapping[str, bool] | None, original: Any) -> Any:
    """The branch ``{"Fn::If": [condition, if_true, if_false]}`` takes."""
    if not (isinstance(argument, list) and len(argument) == 3 and isinstance(argument[0], str)):
        raise UnresolvableError(f"malformed Fn::If: {original!r}")
    if conditions is None or argument[0] not in conditions:
        raise UnresolvableError(f"condition {argument[0]!r} has no local value")
    return argument[1] if conditions[argument[0]] else argument[2]


def evaluate_conditions(template: Mapping[str, Any], refs: Mapping[str, Any]) -> dict[str, bool]:
    """The template's ``Conditions`` (``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or`` and
    ``{"Condition": name}``) evaluated with the given parameter values; anything else raises
    UnresolvableError."""
    raw: Mapping[str, Any] = template.get("Conditions", {}) or {}
    done: dict[str, bool] = {}

    def condition(name: str, seen: frozenset[str]) -> bool:
        if name in done:
            return done[name]
        if name not in raw or name in seen:
            raise UnresolvableError(f"condition {name!r} is unknown or circular")
        done[name] = truth(raw[name], seen | {name})
        return done[name]

    def truth(expression: Any, seen: frozenset[str]) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            ((key, argument),) = expression.items()
            if key == "Condition" and isinstance(argument, str):
                return condition(argument, seen)
            if key == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
                left, right = (_resolve(part, refs, None, None, done) for part in argument)
                return bool(left == right)
            if key == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
                return not truth(argument[0], seen)
            if key in ("Fn::And", "Fn::Or") and isinstance(argument, list):
                values = [truth(part, seen) for part in argument]
                return all(values) if key == "Fn::And" else any(values)
        raise UnresolvableError(f"condition expression not evaluated locally: {expression!r}")

    for name in raw:
        condition(name, frozenset())
    return done


def _lookup(values: Mapping[str, Any] | None, name: Any, intrinsic: str) -> Any:
    if not isinstance(name, str) or values is None or name not in values:
        raise UnresolvableError(f"{intrinsic} {name!r} has no local value")
    return values[name]


def _join(argument: Any, original: Any) -> str:
    """``{"Fn::Join": [delimiter, [values...]]}``."""
    if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], list)):
        raise UnresolvableError(f"malformed Fn::Join: {original!r}")
    delimiter, parts = argument
    if not isinstance(delimiter, str) or not all(isinstance(part, str) for part in parts):
        raise UnresolvableError(f"Fn::Join of non-strings: {original!r}")
    return delimiter.join(parts)


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _sub(
    argument: Any,
    resolve: Callable[[Any], Any],
    refs: Mapping[str, Any] | None,
    attributes: Mapping[str, str] | None,
) -> str:
    """``Fn::Sub`` in its string and ``[string, {variables}]`` forms; ``${!Literal}`` stays ``${Literal}``."""
    if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
        text, variables = argument[0], {name: resolve(v) for name, v in argument[1].items()}
    else:
        text, variables = argument, {}
    if not isinstance(text, str):
        raise UnresolvableError(f"malformed Fn::Sub: {argument!r}")

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return str(variables[name])
        if "." in name:
            return str(_lookup(attributes, name, "Fn::Sub"))
        return str(_lookup(refs, name, "Fn::Sub"))

    return _SUB_VARIABLE.sub(substitute, text)


def _select(argument: Any, original: Any) -> Any:
    """``{"Fn::Select": [index, [values...]]}``; the index may be a string, as in templates."""
    if not (isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], list)):
        raise UnresolvableError(f"malformed Fn::Select: {original!r}")
    try:
        return argument[1][int(argument[0])]
    except (ValueError, IndexError) as error:
        raise UnresolvableError(f"Fn::Select out of range: {original!r}") from error


def _split(argument: Any, original: Any) -> list[str]:
    """``{"Fn::Split": [delimiter, string]}``."""
    if not (isinstance(argument, list) and len(argument) == 2 and all(isinstance(a, str) for a in argument)):
        raise UnresolvableError(f"malformed Fn::Split: {original!r}")
    delimiter, text = str(argument[0]), str(argument[1])
    return text.split(delimiter)
