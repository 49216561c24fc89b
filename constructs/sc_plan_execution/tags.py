"""`Tags.of(scope)` reaching the provisioned product, the way CDK tags its own resources.

CDK's Tags aspect visits every construct in a scope and tags those that carry a `TagManager`
(`TagManager.is_taggable_v2`: a `cdk_tag_manager` attribute), deciding include/exclude by the
manager's resource type: for `ProvisionedProductPlanExecution` that is its custom resource type
`Custom::ServiceCatalogPlanExecution`. The manager applies CDK's priorities (Tags.of adds at 100,
removes at 200, a higher `priority=` wins, equal priorities: the last applied), and the custom
resource's `Tags` property is rendered from it at synth time, in the `{Key, Value}` shape the
handler passes to CreateProvisionedProductPlan.

The spec's own tags are set on the same manager at `SPEC_TAG_PRIORITY`, above both defaults: a tag
the product spec declares wins over a `Tags.of` tag of the same key (and is not removed by a
default `Tags.of(...).remove`), unless that `Tags.of` call passes a higher `priority=`. (The native
`CfnCloudFormationProvisionedProduct` gives tags passed to it priority 50, below Tags.of.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import jsii
from aws_cdk import TagManager, TagType
from constructs import IValidation

from sc_plan_provider.properties.values import InvalidPropertyError

# Above Tags.of's defaults (add 100, remove 200), so the spec's own tags win on a conflict.
SPEC_TAG_PRIORITY = 300


def product_tag_manager(resource_type: str, spec_tags: Iterable[tuple[str, str]] = ()) -> TagManager:
    """A manager that renders `{Key, Value}` lists, holding the spec's tags at SPEC_TAG_PRIORITY."""
    manager = TagManager(TagType.KEY_VALUE, resource_type)
    for key, value in spec_tags:
        manager.set_tag(key, value, SPEC_TAG_PRIORITY)
    return manager


def tag_list(manager: TagManager) -> list[dict[str, str]]:
    """The tags the manager holds now (after aspects: at validation time), sorted by key as rendered."""
    return [{"Key": key, "Value": value} for key, value in manager.tag_values().items()]


@jsii.implements(IValidation)
class SynthTimeCheck:
    """A construct validation (`node.add_validation`): CDK runs it after the aspects, so after
    every `Tags.of` has been applied, and fails the synth with the message of a refused value."""

    def __init__(self, check: Callable[[], None]) -> None:
        self._check = check

    def validate(self) -> list[str]:
        try:
            self._check()
        except InvalidPropertyError as error:
            return [str(error)]
        return []
