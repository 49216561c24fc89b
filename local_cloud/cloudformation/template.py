"""Custom resources as a synthesized template declares them, ready for the driver.

The demo and the end-to-end tests send CloudFormation exactly what `cdk synth` wrote: the resource's
logical id, its properties (every value as CloudFormation would pass it) and its ServiceTimeout.
The ServiceToken is the driver's to fill in: it names the local function instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
    """Replace ``Ref``, ``Fn::ImportValue`` and ``Fn::GetAtt`` with what CloudFormation would pass.

    ``refs`` maps parameter and logical ids (and pseudo parameters) to values, ``imports`` maps
    export names to values, ``attributes`` maps ``"<LogicalId>.<Attribute>"`` to values. Any other
    intrinsic, or a name missing from its mapping, raises UnresolvableError: a test should not
    silently send CloudFormation something it never would.
    """
    if isinstance(value, list):
        return [resolve_intrinsics(item, refs=refs, imports=imports, attributes=attributes) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return _lookup(refs, argument, "Ref")
        if key == "Fn::ImportValue":
            name = resolve_intrinsics(argument, refs=refs, imports=imports, attributes=attributes)
            return _lookup(imports, name, "Fn::ImportValue")
        if key == "Fn::GetAtt":
            target = ".".join(argument) if isinstance(argument, list) else argument
            return _lookup(attributes, target, "Fn::GetAtt")
        if key.startswith("Fn::") or key == "Condition":
            raise UnresolvableError(f"{key} is not resolved locally: {value!r}")
    return {k: resolve_intrinsics(v, refs=refs, imports=imports, attributes=attributes) for k, v in value.items()}


def _lookup(values: Mapping[str, str] | None, name: Any, intrinsic: str) -> str:
    if not isinstance(name, str) or values is None or name not in values:
        raise UnresolvableError(f"{intrinsic} {name!r} has no local value")
    return values[name]
