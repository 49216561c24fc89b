"""The change gate on the local cloud: a new plan that would replace or remove resources is refused
before anything executes, unless AllowReplacement/AllowRemoval says so; every page of the plan's
resource changes is read; the summary attributes count them."""

from __future__ import annotations

from typing import Any

import pytest

from local_cloud.cloud import LocalCloud
from local_cloud.servicecatalog import ProvisioningScript, ServiceCatalogEmulator
from support.scenarios import plan, product, resource


def change(
    logical_id: str, action: str = "MODIFY", replacement: str = "FALSE", kind: str = "AWS::S3::Bucket"
) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "Action": action,
        "LogicalResourceId": logical_id,
        "ResourceType": kind,
        "Scope": ["PROPERTIES"] if action == "MODIFY" else [],
        "Details": [],
    }
    if replacement:  # only a MODIFY says whether it replaces
        shaped["Replacement"] = replacement
    return shaped


def gated_plan(sc: ServiceCatalogEmulator, changes: list[dict[str, Any]]) -> str:
    return plan(sc, product(sc, resource_changes=changes))


def executed(sc: ServiceCatalogEmulator) -> list[str]:
    return [c.params["PlanId"] for c in sc.calls_to("ExecuteProvisionedProductPlan")]


@pytest.mark.parametrize(
    ("changes", "named", "flag"),
    [
        (
            [change("Data", replacement="TRUE", kind="AWS::DynamoDB::Table")],
            "Data (AWS::DynamoDB::Table) would be replaced",
            "AllowReplacement",
        ),
        (
            [change("Logs", "REMOVE", "", "AWS::Logs::LogGroup")],
            "Logs (AWS::Logs::LogGroup) would be removed",
            "AllowRemoval",
        ),
        (
            [change("Bucket", replacement="CONDITIONAL")],
            "Bucket (AWS::S3::Bucket) may be replaced (Replacement CONDITIONAL",
            "AllowReplacement",
        ),
    ],
    ids=["replacement", "removal", "conditional"],
)
def test_create_refuses_by_default_executes_nothing_and_rolls_back_clean(
    cloud: LocalCloud, changes: list[dict[str, Any]], named: str, flag: str
) -> None:
    sc = cloud.servicecatalog
    plan_id = gated_plan(sc, [change("Kept"), *changes])
    result = cloud.stack("refused").create(resource(plan_id))
    assert result.status == "ROLLBACK_COMPLETE", result
    (create,) = result.by_phase("create")
    assert create.status == "FAILED"
    assert named in create.reason
    assert "Kept" not in create.reason
    assert f'set {flag}: "true"' in create.reason
    assert executed(sc) == []
    assert sc.plan(plan_id).status == "CREATE_SUCCESS"  # still there to execute once allowed
    # The rollback Delete of the not-provisioned marker touches nothing.
    (rollback,) = result.by_phase("rollback")
    assert rollback.status == "SUCCESS"
    assert create.physical_resource_id is not None and create.physical_resource_id.startswith("not-provisioned-")
    assert sc.calls_to("TerminateProvisionedProduct") == []


@pytest.mark.parametrize(
    ("changes", "allow"),
    [
        ([change("Data", replacement="TRUE")], {"AllowReplacement": "true"}),
        ([change("Data", replacement="CONDITIONAL")], {"AllowReplacement": "true"}),
        ([change("Logs", "REMOVE", "")], {"AllowRemoval": "true"}),
    ],
    ids=["replacement", "conditional", "removal"],
)
def test_each_flag_lets_its_changes_through(
    cloud: LocalCloud, changes: list[dict[str, Any]], allow: dict[str, str]
) -> None:
    sc = cloud.servicecatalog
    plan_id = gated_plan(sc, changes)
    result = cloud.stack("allowed").create(resource(plan_id, **allow))
    assert result.status == "CREATE_COMPLETE", result
    assert executed(sc) == [plan_id]


def test_the_other_flag_does_not_help(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    result = cloud.stack("wrong-flag").create(
        resource(gated_plan(sc, [change("Logs", "REMOVE", "")]), AllowReplacement="true")
    )
    assert result.status == "ROLLBACK_COMPLETE", result
    assert "AllowRemoval" in result.by_phase("create")[0].reason
    assert executed(sc) == []


def test_a_removal_on_the_third_page_of_changes_is_found(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    changes = [change(f"Bucket{i:02d}") for i in range(45)] + [change("LateQueue", "REMOVE", "", "AWS::SQS::Queue")]
    plan_id = gated_plan(sc, changes)
    refused = cloud.stack("late-removal").create(resource(plan_id))
    assert refused.status == "ROLLBACK_COMPLETE", refused
    assert "LateQueue (AWS::SQS::Queue) would be removed" in refused.by_phase("create")[0].reason
    pages = [c for c in sc.calls_to("DescribeProvisionedProductPlan") if c.params.get("PlanId") == plan_id]
    assert {c.params["PageSize"] for c in pages} == {20}
    assert sum(1 for c in pages if c.params.get("PageToken")) >= 2  # pages 2 and 3 were read
    assert executed(sc) == []

    allowed = cloud.stack("late-removal-allowed").create(resource(plan_id, AllowRemoval="true"))
    assert allowed.status == "CREATE_COMPLETE", allowed
    data = allowed.outcomes[0].data
    assert (data["Changes.Add"], data["Changes.Modify"], data["Changes.Remove"], data["Changes.Replace"]) == (
        "0",
        "45",
        "1",
        "0",
    )


def test_summary_attributes_count_adds_modifies_removes_and_replacements(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    changes = [
        change("NewTopic", "ADD", "", "AWS::SNS::Topic"),
        change("NewQueue", "ADD", "", "AWS::SQS::Queue"),
        change("Bucket"),
        change("Table", replacement="TRUE", kind="AWS::DynamoDB::Table"),
        change("Function", replacement="CONDITIONAL", kind="AWS::Lambda::Function"),
        change("OldRole", "REMOVE", "", "AWS::IAM::Role"),
    ]
    result = cloud.stack("summary").create(
        resource(gated_plan(sc, changes), AllowReplacement="true", AllowRemoval="true")
    )
    assert result.status == "CREATE_COMPLETE", result
    data = result.outcomes[0].data
    assert {k: v for k, v in data.items() if k.startswith("Changes.")} == {
        "Changes.Add": "2",
        "Changes.Modify": "3",
        "Changes.Remove": "1",
        "Changes.Replace": "2",
    }


def test_an_update_to_a_replacing_plan_is_refused_and_the_rollback_restores_nothing(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = product(sc)
    stack = cloud.stack("gated-update")
    first = plan(sc, seeded)
    assert stack.create(resource(first)).status == "CREATE_COMPLETE"
    product_id = stack.resources["Bucket"].physical_resource_id
    assert product_id is not None
    second = plan(sc, seeded)
    sc.script_plan(second, ProvisioningScript(duration=0.5, resource_changes=[change("Bucket", replacement="TRUE")]))

    updated = stack.update(resource(second))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    (update,) = updated.by_phase("update")
    assert update.status == "FAILED" and "Bucket (AWS::S3::Bucket) would be replaced" in update.reason
    assert update.physical_resource_id == product_id
    (rollback,) = updated.by_phase("rollback")
    assert rollback.status == "SUCCESS"
    # Only the create executed: the rollback found the first plan executed (its status and the
    # provider's record say so) without asking Service Catalog to execute it again.
    assert executed(sc) == [first]
    assert sc.calls_to("UpdateProvisionedProduct") == []
    assert sc.provisioned_product(product_id).status == "AVAILABLE"


def test_a_bad_allow_flag_fails_before_any_service_catalog_call(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    result = cloud.stack("bad-flag").create(resource(gated_plan(sc, []), AllowReplacement="maybe"))
    assert result.status == "ROLLBACK_COMPLETE", result
    assert 'AllowReplacement "maybe" is not a boolean: use "true" or "false"' in result.by_phase("create")[0].reason
    assert sc.calls == []
