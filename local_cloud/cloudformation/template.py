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


def resolve_intrinsics(
    value: Any,
    *,
    refs: Mapping[str, str] | None = None,
    imports: Mapping[str, str] | None = None,
    attributes: Mapping[str, str] | None = None,
) -> Any:
    """Replace ``Ref``, ``Fn::ImportValue``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``, ``Fn::Select``
    and ``Fn::Split`` with what CloudFormation would pass.

    ``refs`` maps parameter and logical ids (and pseudo parameters) to values, ``imports`` maps
    export names to values, ``attributes`` maps ``"<LogicalId>.<Attribute>"`` to values. Any other
    intrinsic (``Fn::If``, ``Fn::FindInMap``...), or a name missing from its mapping, raises
    UnresolvableError: a test should not silently send CloudFormation something it never would.
    """

    def resolve(inner: Any) -> Any:
        return resolve_intrinsics(inner, refs=refs, imports=imports, attributes=attributes)

    if isinstance(value, list):
        return [resolve(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return _lookup(refs, argument, "Ref")
        if key == "Fn::ImportValue":
            return _lookup(imports, resolve(argument), "Fn::ImportValue")
        if key == "Fn::GetAtt":
            target = ".".join(argument) if isinstance(argument, list) else argument
            return _lookup(attributes, target, "Fn::GetAtt")
        if key == "Fn::Join":
            return _join(resolve(argument), value)
        if key == "Fn::Sub":
            return _sub(argument, resolve, refs, attributes)
        if key == "Fn::Select":
            return _select(resolve(argument), value)
        if key == "Fn::Split":
            return _split(resolve(argument), value)
        if key.startswith("Fn::") or key == "Condition":
            raise UnresolvableError(f"{key} is not resolved locally: {value!r}")
    return {k: resolve(v) for k, v in value.items()}


def _lookup(values: Mapping[str, str] | None, name: Any, intrinsic: str) -> str:
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
    refs: Mapping[str, str] | None,
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
            return _lookup(attributes, name, "Fn::Sub")
        return _lookup(refs, name, "Fn::Sub")

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
