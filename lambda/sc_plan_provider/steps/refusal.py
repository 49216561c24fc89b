"""The FAILED reason of a plan the change gate refuses: every refused resource that fits, then the fix.

Loaded only when the gate refuses a plan (gate.py decides; this module words the refusal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.request import ResourceFailure
from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.properties.resource import PLAN_ID
from sc_plan_provider.steps.context import MAX_REASON_CHARS

if TYPE_CHECKING:
    from sc_plan_provider.properties.resource import PlanProperties
    from sc_plan_provider.servicecatalog.shapes import Plan
    from sc_plan_provider.steps.gate import GateDecision

# What a refusal tells the reader to run to see every refused change (docs/review.md).
REVIEW_COMMAND = "python -m sc_plan_execution review"


def refused(plan: Plan, decision: GateDecision, properties: PlanProperties) -> ResourceFailure:
    """The failure of a refused plan, named by its id (plan mode) or its product's name (spec mode)."""
    logger.warning(
        "Plan refused by the change gate",
        extra={"plan_id": plan.plan_id, "refused": [r.describe() for r in decision.refused]},
    )
    if properties.spec is None:
        subject, list_all = f"{PLAN_ID} {plan.plan_id}", f"run `{REVIEW_COMMAND} {plan.plan_id}` to list them all"
    else:  # the plan was made from the spec and is deleted after the refusal
        subject = f"The plan for ProvisionedProductName {properties.spec.provisioned_product_name}"
        list_all = "the provider function's log lists them all"
    return ResourceFailure(refusal_reason(subject, decision, max_chars=MAX_REASON_CHARS, list_all=list_all))


def refusal_reason(subject: str, decision: GateDecision, *, max_chars: int, list_all: str) -> str:
    """A FAILED reason naming every refused resource that fits in ``max_chars``, then the fix.

    ``subject`` names what was refused ("PlanId plan-1"); when not all resources fit, the reason
    says how many more there are and ``list_all`` says where to see them all.
    """
    fixes = " and ".join(f'set {flag}: "true"' for flag in decision.needed_flags)
    head = f"{subject} was refused by the change gate, nothing was executed: "
    tail = f". To allow this, {fixes} (or create a plan without these changes)."
    items = [refused.describe() for refused in decision.refused]
    shown: list[str] = []
    for index, item in enumerate(items):
        remaining = len(items) - index - 1
        more = f"; and {remaining} more ({list_all})" if remaining else ""
        if len(head) + len("; ".join([*shown, item])) + len(more) + len(tail) > max_chars:
            left = len(items) - len(shown)
            listed = f"{'; '.join(shown)}; and {left} more" if shown else f"{left} resources"
            return f"{head}{listed} ({list_all}){tail}"
        shown.append(item)
    return f"{head}{'; '.join(shown)}{tail}"
