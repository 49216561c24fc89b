"""The change gate: which of a plan's resource changes may be applied without an explicit allow.

The decision is a pure function of the plan's ResourceChanges (all pages) and the two allow flags,
shared by the handler (before ExecuteProvisionedProductPlan: `apply.gate`) and the review command
(before a manual approval), so the rule lives in one place and a pipeline sees exactly what the
deployment will decide. A refusal's wording is refusal.py.

Rules: a change that removes a resource (Action REMOVE) needs AllowRemoval; a change that replaces
one (Replacement TRUE) needs AllowReplacement. Replacement CONDITIONAL means CloudFormation will
only know at execution time (it depends on a value not resolved yet), so it counts as a
replacement: the gate refuses what it cannot rule out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.value import Value
from sc_plan_provider.properties.resource import ALLOW_REMOVAL, ALLOW_REPLACEMENT
from sc_plan_provider.servicecatalog.shapes import ChangeSummary, ResourceChange

if TYPE_CHECKING:
    from collections.abc import Iterable

ADD = "ADD"
MODIFY = "MODIFY"
REMOVE = "REMOVE"
REPLACEMENT_TRUE = "TRUE"
REPLACEMENT_CONDITIONAL = "CONDITIONAL"

WOULD_BE_REPLACED = "would be replaced"
MAY_BE_REPLACED = "may be replaced (Replacement CONDITIONAL: decided only when the plan executes)"
WOULD_BE_REMOVED = "would be removed"


class RefusedChange(Value):
    """A change the gate refuses: what would happen and the property that would allow it."""

    change: ResourceChange
    outcome: str
    allowed_by: str

    def describe(self) -> str:
        return f"{self.change.logical_resource_id} ({self.change.resource_type}) {self.outcome}"


class GateDecision(Value):
    summary: ChangeSummary
    refused: tuple[RefusedChange, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.refused

    @property
    def needed_flags(self) -> tuple[str, ...]:
        """The allow properties that would let the refused changes through, in a stable order."""
        wanted = {refused.allowed_by for refused in self.refused}
        return tuple(flag for flag in (ALLOW_REPLACEMENT, ALLOW_REMOVAL) if flag in wanted)


def is_replacement(change: ResourceChange) -> bool:
    return change.action == MODIFY and change.replacement in (REPLACEMENT_TRUE, REPLACEMENT_CONDITIONAL)


def decide(changes: Iterable[ResourceChange], *, allow_replacement: bool, allow_removal: bool) -> GateDecision:
    """Summarise the changes and list those the flags do not allow, in the plan's order."""
    add = modify = remove = replace = 0
    refused: list[RefusedChange] = []
    for change in changes:
        if change.action == ADD:
            add += 1
        elif change.action == MODIFY:
            modify += 1
        if change.action == REMOVE:
            remove += 1
            if not allow_removal:
                refused.append(RefusedChange(change, WOULD_BE_REMOVED, ALLOW_REMOVAL))
        elif is_replacement(change):
            replace += 1
            if not allow_replacement:
                outcome = MAY_BE_REPLACED if change.replacement == REPLACEMENT_CONDITIONAL else WOULD_BE_REPLACED
                refused.append(RefusedChange(change, outcome, ALLOW_REPLACEMENT))
    return GateDecision(ChangeSummary(add, modify, remove, replace), tuple(refused))
