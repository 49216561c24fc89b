"""Custom resources as a synthesized template declares them, ready for the driver.

The demo and the end-to-end tests send CloudFormation exactly what `cdk synth` wrote: the resource's
logical id, its properties (every value as CloudFormation would pass it) and its ServiceTimeout.
The ServiceToken is the driver's to fill in: it names the local function instead.
"""

from __future__ import annotations

import json
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
