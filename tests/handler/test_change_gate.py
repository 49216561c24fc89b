"""The change gate as a pure function, and its properties: the rule the handler and the review
command share."""

from __future__ import annotations

import pytest

from sc_plan_provider.properties.resource import InvalidPropertyError, parse_properties
from sc_plan_provider.servicecatalog.shapes import ChangeSummary, ResourceChange
from sc_plan_provider.steps.context import summary_data
from sc_plan_provider.steps.gate import decide
from sc_plan_provider.steps.refusal import refusal_reason

REVIEW = "python -m sc_plan_execution review"


def change(logical_id: str, action: str = "MODIFY", replacement: str = "FALSE") -> ResourceChange:
    return ResourceChange(action, logical_id, "AWS::S3::Bucket", replacement)


PLAN = [
    change("Added", "ADD", ""),
    change("Tweaked"),
    change("Replaced", replacement="TRUE"),
    change("Maybe", replacement="CONDITIONAL"),
    change("Removed", "REMOVE", ""),
]


def test_by_default_replacements_conditional_ones_and_removals_are_refused_in_plan_order() -> None:
    decision = decide(PLAN, allow_replacement=False, allow_removal=False)
    assert not decision.allowed
    assert [(r.change.logical_resource_id, r.allowed_by) for r in decision.refused] == [
        ("Replaced", "AllowReplacement"),
        ("Maybe", "AllowReplacement"),
        ("Removed", "AllowRemoval"),
    ]
    assert decision.refused[0].describe() == "Replaced (AWS::S3::Bucket) would be replaced"
    assert "may be replaced (Replacement CONDITIONAL" in decision.refused[1].describe()
    assert decision.refused[2].describe() == "Removed (AWS::S3::Bucket) would be removed"
    assert decision.needed_flags == ("AllowReplacement", "AllowRemoval")


@pytest.mark.parametrize(
    ("allow_replacement", "allow_removal", "still_refused"),
    [(True, False, ["Removed"]), (False, True, ["Replaced", "Maybe"]), (True, True, [])],
)
def test_each_flag_allows_only_its_own_kind(
    allow_replacement: bool, allow_removal: bool, still_refused: list[str]
) -> None:
    decision = decide(PLAN, allow_replacement=allow_replacement, allow_removal=allow_removal)
    assert [r.change.logical_resource_id for r in decision.refused] == still_refused
    assert decision.allowed is (not still_refused)


def test_summary_counts_whatever_the_flags() -> None:
    expected = ChangeSummary(add=1, modify=3, remove=1, replace=2)
    assert decide(PLAN, allow_replacement=False, allow_removal=False).summary == expected
    assert decide(PLAN, allow_replacement=True, allow_removal=True).summary == expected
    assert summary_data(expected) == {
        "Changes.Add": "1",
        "Changes.Modify": "3",
        "Changes.Remove": "1",
        "Changes.Replace": "2",
    }


def test_a_plan_without_replacements_or_removals_passes() -> None:
    decision = decide([change("A", "ADD", ""), change("B")], allow_replacement=False, allow_removal=False)
    assert decision.allowed and decision.refused == ()


def test_reason_names_every_refused_resource_and_the_property_that_allows_it() -> None:
    decision = decide(PLAN, allow_replacement=False, allow_removal=False)
    reason = refusal_reason(
        "PlanId plan-1", decision, max_chars=1000, list_all=f"run `{REVIEW} plan-1` to list them all"
    )
    assert reason.startswith("PlanId plan-1 was refused by the change gate, nothing was executed: ")
    for name in ("Replaced", "Maybe", "Removed"):
        assert name in reason
    assert 'set AllowReplacement: "true" and set AllowRemoval: "true"' in reason


def test_reason_too_long_names_what_fits_and_points_to_the_review_command() -> None:
    many = [change(f"Queue{i:03d}WithAVeryLongLogicalId", "REMOVE", "") for i in range(80)]
    reason = refusal_reason(
        "PlanId plan-1",
        decide(many, allow_replacement=False, allow_removal=False),
        max_chars=1000,
        list_all=f"run `{REVIEW} plan-1` to list them all",
    )
    assert len(reason) <= 1000
    assert "Queue000WithAVeryLongLogicalId" in reason
    shown = sum(f"Queue{i:03d}" in reason for i in range(80))
    assert f"and {80 - shown} more (run `{REVIEW} plan-1` to list them all)" in reason
    assert 'set AllowRemoval: "true"' in reason


@pytest.mark.parametrize("name", ["AllowReplacement", "AllowRemoval"])
def test_allow_flags_parse_true_false_and_name_a_bad_value(name: str) -> None:
    assert parse_properties({"PlanId": "plan-1"}).allow_replacement is False
    key = "allow_replacement" if name == "AllowReplacement" else "allow_removal"
    assert getattr(parse_properties({"PlanId": "plan-1", name: "true"}), key) is True
    assert getattr(parse_properties({"PlanId": "plan-1", name: "False"}), key) is False
    with pytest.raises(InvalidPropertyError) as raised:
        parse_properties({"PlanId": "plan-1", name: "maybe"})
    assert str(raised.value) == f'{name} "maybe" is not a boolean: use "true" or "false".'
