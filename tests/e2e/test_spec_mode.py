"""Spec mode end to end: the resource declares the product (ProductId, ProvisioningArtifactId,
ProvisionedProductName, parameters...) and every deployment plans it, gates it, executes it and
deletes the plan; nothing to change is a SUCCESS; rollbacks restore the old spec ungated; a new
name is a new product; bad input fails before any Service Catalog call; NoEcho masks the answer."""

from __future__ import annotations

import time
from typing import Any

import pytest

from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import CustomResource, Delivery, Outcome
from local_cloud.servicecatalog import (
    InvalidStateException,
    ProvisioningScript,
    RecordError,
    SeededProduct,
    ServiceCatalogEmulator,
)
from support.scenarios import FAST_POLLING, plan, product, resource

NAME = "spec-bucket-pp"


def versions(
    sc: ServiceCatalogEmulator, *, v2_fails: bool = False, v2_changes: list[dict[str, Any]] | None = None
) -> SeededProduct:
    """A product with two versions whose outputs tell them apart."""
    v2_errors = [RecordError("UPDATE_FAILED", "v2 cannot be applied")] if v2_fails else []
    return sc.add_product(
        "bucket",
        artifacts={
            "v1": ProvisioningScript(duration=0.3, outputs={"BucketName": "bucket-v1"}),
            "v2": ProvisioningScript(
                duration=0.3, outputs={"BucketName": "bucket-v2"}, errors=v2_errors, resource_changes=v2_changes
            ),
        },
    )


def spec(
    seeded: SeededProduct,
    version: str = "v1",
    *,
    name: str = NAME,
    logical_id: str = "Bucket",
    parameters: dict[str, str] | None = None,
    **properties: Any,
) -> CustomResource:
    props: dict[str, Any] = {
        **FAST_POLLING,
        "ProductId": seeded.id,
        "ProvisioningArtifactId": seeded.artifact_id(version),
        "ProvisionedProductName": name,
        **properties,
    }
    if parameters:
        props["ProvisioningParameters"] = [{"Key": key, "Value": value} for key, value in parameters.items()]
    return CustomResource(logical_id, props, resource_type=RESOURCE_TYPE)


def change(logical_id: str, action: str = "MODIFY", replacement: str = "FALSE") -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "Action": action,
        "LogicalResourceId": logical_id,
        "ResourceType": "AWS::S3::Bucket",
        "Scope": ["PROPERTIES"] if action == "MODIFY" else [],
        "Details": [],
    }
    if replacement:
        shaped["Replacement"] = replacement
    return shaped


def executed(sc: ServiceCatalogEmulator) -> list[str]:
    """Plans really executed (each once however often it was asked)."""
    return sorted({r.plan_id for r in sc.records() if r.plan_id is not None})


def plans_left(sc: ServiceCatalogEmulator) -> list[str]:
    return [p.id for p in sc.state.list_plans()]


def planned(sc: ServiceCatalogEmulator) -> list[str]:
    """Distinct plans asked for (a duplicate asks with the same token)."""
    return sorted({c.params["IdempotencyToken"] for c in sc.calls_to("CreateProvisionedProductPlan")})


def body(outcome: Outcome) -> dict[str, Any]:
    (put,) = [p for p in outcome.puts if p.method == "PUT"]
    answered: dict[str, Any] = put.json()
    return answered


def test_create_update_unchanged_spec_and_delete(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = versions(sc)
    stack = cloud.stack("spec-lifecycle")
    created = stack.create(spec(seeded, parameters={"Size": "small"}, Tags=[{"Key": "team", "Value": "data"}]))
    assert created.status == "CREATE_COMPLETE", created
    (create,) = created.outcomes
    product_id = create.physical_resource_id
    assert product_id is not None and product_id.startswith("pp-")
    assert create.data["Outputs.BucketName"] == "bucket-v1"
    assert create.data["Changes.Add"] == "1"
    assert sc.current_parameters(product_id) == {"Size": "small"}
    (call,) = sc.calls_to("CreateProvisionedProductPlan")
    assert call.params["PlanType"] == "CLOUDFORMATION"
    assert call.params["PlanName"].startswith("cfn-Bucket-")
    assert call.params["Tags"] == [{"Key": "team", "Value": "data"}]
    assert len(executed(sc)) == 1 and len(sc.deleted_plans()) == 1 and plans_left(sc) == []

    # New parameters and a new version: planned against the same product, same physical id.
    updated = stack.update(spec(seeded, "v2", parameters={"Size": "large"}))
    assert updated.status == "UPDATE_COMPLETE", updated
    (update,) = updated.by_phase("update")
    assert update.physical_resource_id == product_id
    assert update.data["Outputs.BucketName"] == "bucket-v2"
    assert sc.current_parameters(product_id) == {"Size": "large"}
    assert sc.current_artifact_id(product_id) == seeded.artifact_id("v2")
    assert len(executed(sc)) == 2 and len(sc.deleted_plans()) == 2 and plans_left(sc) == []
    assert updated.by_phase("cleanup") == []

    # Only properties that never reach Service Catalog change: nothing is planned.
    sc.clear_calls()
    polled = stack.update(spec(seeded, "v2", parameters={"Size": "large"}, PollingIntervalSeconds=0.1))
    assert polled.status == "UPDATE_COMPLETE", polled
    (report,) = polled.outcomes
    assert report.physical_resource_id == product_id
    assert report.data["Outputs.BucketName"] == "bucket-v2"
    assert sc.calls_to("CreateProvisionedProductPlan") == []
    assert len(executed(sc)) == 2

    deleted = stack.delete()
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert sc.provisioned_product(product_id).terminated


def test_update_with_nothing_to_change_succeeds_without_executing(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = versions(sc)
    stack = cloud.stack("spec-no-changes")
    assert stack.create(spec(seeded, parameters={"Size": "small"})).status == "CREATE_COMPLETE"
    product_id = stack.resources["Bucket"].physical_resource_id
    assert product_id is not None
    # Someone already put the product where the next template wants it.
    record = sc.client().update_provisioned_product(
        ProvisionedProductId=product_id,
        ProductId=seeded.id,
        ProvisioningArtifactId=seeded.artifact_id("v1"),
        ProvisioningParameters=[{"Key": "Size", "Value": "large"}],
        UpdateToken="by-hand",
    )["RecordDetail"]
    while sc.record(record["RecordId"]).status != "SUCCEEDED":
        time.sleep(0.1)

    updated = stack.update(spec(seeded, parameters={"Size": "large"}))
    assert updated.status == "UPDATE_COMPLETE", updated
    (update,) = updated.outcomes
    assert update.status == "SUCCESS", update.reason
    assert update.physical_resource_id == product_id
    assert update.data["RecordId"] == record["RecordId"]  # the product as it stands
    assert update.data["Changes.Modify"] == "0"
    assert len(executed(sc)) == 1  # the Create's only
    assert len(sc.calls_to("CreateProvisionedProductPlan")) == 2
    assert len(sc.deleted_plans()) == 2 and plans_left(sc) == []


def test_rollback_after_another_resource_fails_restores_the_old_spec_ungated(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = versions(sc)
    stack = cloud.stack("spec-restored")
    queue_plan = plan(sc, product(sc, "queue"), "queue-pp")
    created = stack.create(spec(seeded, parameters={"Size": "1"}), resource(queue_plan, "Queue"))
    assert created.status == "CREATE_COMPLETE", created
    product_id = created.outcomes[0].physical_resource_id
    assert product_id is not None
    # From now on a plan back to v1 would replace a resource: the gate would refuse it.
    sc.set_script(
        seeded.artifact_id("v1"),
        ProvisioningScript(
            duration=0.3, outputs={"BucketName": "bucket-v1"}, resource_changes=[change("Data", replacement="TRUE")]
        ),
    )

    updated = stack.update(spec(seeded, "v2", parameters={"Size": "2"}), resource("bad id", "Queue"))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    assert updated.by_phase("update")[0].succeeded  # the product really moved to v2 first
    rollback = {outcome.logical_resource_id: outcome for outcome in updated.by_phase("rollback")}
    bucket = rollback["Bucket"]
    assert (bucket.status, bucket.physical_resource_id) == ("SUCCESS", product_id), bucket.reason
    assert bucket.data["Outputs.BucketName"] == "bucket-v1"
    assert bucket.data["Changes.Replace"] == "1"  # executed although the gate would refuse it
    assert sc.current_artifact_id(product_id) == seeded.artifact_id("v1")
    assert sc.current_parameters(product_id) == {"Size": "1"}
    assert plans_left(sc) == [queue_plan]  # plan mode's plan is the user's; every spec plan is gone

    # A deliberate new deployment of a never-applied spec with such changes is still gated.
    refused = stack.update(spec(seeded, "v1", parameters={"Size": "3"}))
    assert refused.status == "UPDATE_ROLLBACK_COMPLETE", refused
    assert "Data (AWS::S3::Bucket) would be replaced" in refused.by_phase("update")[0].reason


def test_rollback_after_a_failed_update_finds_nothing_to_change(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = versions(sc, v2_fails=True)
    stack = cloud.stack("spec-tainted")
    assert stack.create(spec(seeded, parameters={"Size": "1"})).status == "CREATE_COMPLETE"
    product_id = stack.resources["Bucket"].physical_resource_id
    assert product_id is not None

    updated = stack.update(spec(seeded, "v2", parameters={"Size": "2"}))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    (failed,) = updated.by_phase("update")
    assert "v2 cannot be applied" in failed.reason
    (rollback,) = updated.by_phase("rollback")
    assert rollback.status == "SUCCESS", rollback.reason
    assert rollback.physical_resource_id == product_id
    assert rollback.data["Outputs.BucketName"] == "bucket-v1"
    # Service Catalog had already undone it: the rollback's plan had nothing to change.
    assert len(executed(sc)) == 2  # the Create and the failed update only
    assert sc.calls_to("UpdateProvisionedProduct") == []
    assert sc.current_artifact_id(product_id) == seeded.artifact_id("v1")
    assert len(sc.deleted_plans()) == 3 and plans_left(sc) == []


@pytest.mark.parametrize(
    ("changes", "named", "flag"),
    [
        ([change("Data", replacement="TRUE")], "Data (AWS::S3::Bucket) would be replaced", "AllowReplacement"),
        ([change("Logs", "REMOVE", "")], "Logs (AWS::S3::Bucket) would be removed", "AllowRemoval"),
        ([change("Data", replacement="CONDITIONAL")], "Data (AWS::S3::Bucket) may be replaced", "AllowReplacement"),
    ],
    ids=["replacement", "removal", "conditional"],
)
def test_gate_refuses_a_spec_create_and_update_deletes_the_plan_and_executes_nothing(
    cloud: LocalCloud, changes: list[dict[str, Any]], named: str, flag: str
) -> None:
    sc = cloud.servicecatalog
    gated = sc.add_product("gated", ProvisioningScript(duration=0.3, resource_changes=changes))
    result = cloud.stack("spec-refused").create(spec(gated))
    assert result.status == "ROLLBACK_COMPLETE", result
    (create,) = result.by_phase("create")
    assert named in create.reason and f'set {flag}: "true"' in create.reason
    # It names the spec's product, not the plan it made (deleted by now).
    assert create.reason.startswith("The plan for ProvisionedProductName ")
    assert create.physical_resource_id is not None and create.physical_resource_id.startswith("not-provisioned-")
    assert sc.calls_to("ExecuteProvisionedProductPlan") == []
    assert len(sc.deleted_plans()) == 1 and plans_left(sc) == []
    # The real service keeps the new product's placeholder after its plan is deleted: the provider
    # terminated that (never provisioned) placeholder, so nothing is left that no resource holds.
    assert sc.provisioned_products() == []

    # Allowed, it is applied; an Update to a version with the same changes is refused in turn.
    seeded = versions(sc, v2_changes=changes)
    stack = cloud.stack("spec-refused-update")
    assert stack.create(spec(seeded)).status == "CREATE_COMPLETE"
    product_id = stack.resources["Bucket"].physical_resource_id
    updated = stack.update(spec(seeded, "v2"))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    assert named in updated.by_phase("update")[0].reason
    (rollback,) = updated.by_phase("rollback")
    assert (rollback.status, rollback.physical_resource_id) == ("SUCCESS", product_id)
    assert sc.current_artifact_id(product_id or "") == seeded.artifact_id("v1")
    assert len(executed(sc)) == 1 and plans_left(sc) == []
    allowed = stack.update(spec(seeded, "v2", **{flag: "true"}))
    assert allowed.status == "UPDATE_COMPLETE", allowed
    assert sc.current_artifact_id(product_id or "") == seeded.artifact_id("v2")


def test_new_name_provisions_a_new_product_and_the_old_one_is_terminated(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = versions(sc)
    stack = cloud.stack("spec-renamed")
    assert stack.create(spec(seeded)).status == "CREATE_COMPLETE"
    old_id = stack.resources["Bucket"].physical_resource_id
    assert old_id is not None

    renamed = stack.update(spec(seeded, name="spec-bucket-pp-2"))
    assert renamed.status == "UPDATE_COMPLETE", renamed
    (update,) = renamed.by_phase("update")
    new_id = update.physical_resource_id
    assert new_id is not None and new_id.startswith("pp-") and new_id != old_id
    (cleanup,) = renamed.by_phase("cleanup")
    assert (cleanup.request_type, cleanup.physical_resource_id, cleanup.status) == ("Delete", old_id, "SUCCESS")
    assert sc.provisioned_product(old_id).terminated
    assert sc.provisioned_product(new_id).status == "AVAILABLE"
    assert sc.provisioned_product(new_id).name == "spec-bucket-pp-2"
    assert plans_left(sc) == []


def test_failed_replacement_is_terminated_and_the_old_product_kept(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = versions(sc, v2_fails=True)
    stack = cloud.stack("spec-renamed-failed")
    assert stack.create(spec(seeded)).status == "CREATE_COMPLETE"
    old_id = stack.resources["Bucket"].physical_resource_id
    assert old_id is not None
    result = stack.update(spec(seeded, "v2", name="spec-bucket-pp-2"))
    assert result.status == "UPDATE_ROLLBACK_COMPLETE", result
    (failed,) = result.by_phase("update")
    assert failed.physical_resource_id == old_id
    provisioned = {r.provisioned_product_id for r in sc.records() if r.record_type == "PROVISION_PRODUCT"}
    (replacement,) = provisioned - {old_id}
    assert sc.provisioned_product(replacement).terminated
    assert len(sc.calls_to("TerminateProvisionedProduct")) == 1
    assert not sc.provisioned_product(old_id).terminated


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"PlanId": "plan-abc", "ProductId": "prod-abc"}, "PlanId and a product spec (ProductId) are both given"),
        ({}, "PlanId is required"),
        (
            {"ProductId": "prod-abc", "ProvisionedProductName": "x"},
            "The product spec is incomplete: ProvisioningArtifactId (or ProvisioningArtifactName) is missing",
        ),
        (
            {
                "ProductId": "prod-abc",
                "ProvisioningArtifactId": "pa-abc",
                "ProvisionedProductName": "x",
                "ProvisioningParameters": "Size=small",
            },
            "ProvisioningParameters must be a list of {Key, Value} objects",
        ),
    ],
    ids=["both", "neither", "incomplete", "malformed"],
)
def test_bad_spec_fails_before_any_service_catalog_call(
    cloud: LocalCloud, properties: dict[str, Any], reason: str
) -> None:
    sc = cloud.servicecatalog
    result = cloud.stack("spec-bad").create(CustomResource("Bucket", properties, resource_type=RESOURCE_TYPE))
    assert result.status == "ROLLBACK_COMPLETE", result
    (create,) = result.by_phase("create")
    assert reason in create.reason
    assert sc.calls == []
    # An Update that adds a PlanId to a spec resource is refused the same way, before any call.
    seeded = versions(sc)
    stack = cloud.stack("spec-bad-update")
    assert stack.create(spec(seeded)).status == "CREATE_COMPLETE"
    sc.clear_calls()
    both = stack.update(spec(seeded, PlanId="plan-abc"))
    assert both.status == "UPDATE_ROLLBACK_COMPLETE"
    assert "are both given" in both.by_phase("update")[0].reason
    # Only the rollback (the old spec, unchanged) asked anything: it reports the product.
    assert [c.operation for c in sc.calls] == ["DescribeProvisionedProduct", "DescribeRecord"]


def test_duplicate_delivery_of_a_spec_create_plans_executes_and_answers_once(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = sc.add_product(
        "bucket", ProvisioningScript(plan_duration=0.5, duration=1.0, outputs={"BucketName": "bucket-v1"})
    )
    result = cloud.stack("spec-duplicate").create(spec(seeded), delivery=Delivery(times=2, duplicate_delay=0.3))
    assert result.status == "CREATE_COMPLETE", result
    (create,) = result.outcomes
    assert len(sc.calls_to("CreateProvisionedProductPlan")) == 2  # both deliveries asked...
    assert len(planned(sc)) == 1  # ...with one token: one plan
    assert len(executed(sc)) == 1
    assert len([r for r in sc.records() if r.record_type == "PROVISION_PRODUCT"]) == 1
    assert len(sc.provisioned_products()) == 1
    assert plans_left(sc) == []
    time.sleep(1.5)
    assert create.answers == 1


def test_a_failing_cleanup_is_logged_and_never_fails_the_stack(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = versions(sc)
    sc.inject_failure("DeleteProvisionedProductPlan", InvalidStateException("Plan is busy."))
    stack = cloud.stack("spec-cleanup-fails")
    created = stack.create(spec(seeded))
    assert created.status == "CREATE_COMPLETE", created
    assert len(sc.calls_to("DeleteProvisionedProductPlan")) == 1
    assert len(plans_left(sc)) == 1  # left behind, and the stack did not mind
    sc.inject_failure("DeleteProvisionedProductPlan", None)
    assert stack.update(spec(seeded, "v2")).status == "UPDATE_COMPLETE"
    # The next deployment removed the plan the resource had left, then its own.
    assert len(sc.deleted_plans()) == 2
    assert plans_left(sc) == []


def test_no_echo_is_set_in_the_response_in_both_modes(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = versions(sc)
    masked = cloud.stack("spec-no-echo").create(spec(seeded, NoEcho="true"))
    assert masked.status == "CREATE_COMPLETE", masked
    (create,) = masked.outcomes
    assert body(create)["NoEcho"] is True
    assert body(create)["Data"]["Outputs.BucketName"] == "bucket-v1"  # GetAtt still gets the values

    in_plan_mode = cloud.stack("plan-no-echo").create(resource(plan(sc, product(sc, "queue"), "queue-pp"), NoEcho=True))
    assert body(in_plan_mode.outcomes[0])["NoEcho"] is True
    plain = cloud.stack("plan-echo").create(resource(plan(sc, product(sc, "topic"), "topic-pp"), "Topic"))
    assert body(plain.outcomes[0])["NoEcho"] is False
