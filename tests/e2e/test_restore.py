"""Updates and rollbacks restore what the template says: an Update whose PlanId names a plan that
already ran ends with the product on that plan's artifact and parameters (re-applied with
UpdateProvisionedProduct when the product moved since, left alone when it is already there)."""

from __future__ import annotations

import time

from local_cloud.cloud import LocalCloud
from local_cloud.cloudformation import Delivery
from local_cloud.servicecatalog import ProvisioningScript, RecordError, SeededProduct, ServiceCatalogEmulator
from support.scenarios import delete_plans_of, plan, product, resource

NAME = "bucket-pp"


def versions(sc: ServiceCatalogEmulator, *, v2_fails: bool = False) -> SeededProduct:
    """A product with two versions whose outputs tell them apart; v2's update can be made to fail."""
    v2_errors = [RecordError("UPDATE_FAILED", "v2 cannot be applied")] if v2_fails else []
    return sc.add_product(
        "bucket",
        artifacts={
            "v1": ProvisioningScript(duration=0.5, outputs={"BucketName": "bucket-v1"}),
            "v2": ProvisioningScript(duration=0.5, outputs={"BucketName": "bucket-v2"}, errors=v2_errors),
        },
    )


def versioned_plan(sc: ServiceCatalogEmulator, seeded: SeededProduct, version: str, size: str) -> str:
    delete_plans_of(sc, NAME)  # one plan per product: the user deletes the executed one first
    return sc.create_plan(seeded.id, seeded.artifact_id(version), NAME, parameters=[{"Key": "Size", "Value": size}]).id


def restores(sc: ServiceCatalogEmulator) -> list[str]:
    """Update records not made by a plan: the re-applications, each once however often it was asked."""
    return [r.id for r in sc.records() if r.record_type == "UPDATE_PROVISIONED_PRODUCT" and r.plan_id is None]


def test_rollback_after_the_update_succeeded_puts_the_product_back_on_the_old_plan(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = versions(sc)
    stack = cloud.stack("restored")
    first = versioned_plan(sc, seeded, "v1", "1")
    created = stack.create(resource(first), resource(plan(sc, product(sc, "queue"), "queue-pp"), "Queue"))
    assert created.status == "CREATE_COMPLETE", created
    product_id = created.outcomes[0].physical_resource_id
    assert product_id is not None

    second = versioned_plan(sc, seeded, "v2", "2")
    updated = stack.update(resource(second), resource("bad id", "Queue"))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    assert updated.by_phase("update")[0].succeeded  # the product really moved to v2 first
    rollback = {outcome.logical_resource_id: outcome for outcome in updated.by_phase("rollback")}
    bucket = rollback["Bucket"]
    assert (bucket.request_type, bucket.status, bucket.physical_resource_id) == ("Update", "SUCCESS", product_id)

    # The stack says the first plan, and so does the product: artifact, parameters and outputs.
    assert sc.current_artifact_id(product_id) == seeded.artifact_id("v1")
    assert sc.current_parameters(product_id) == {"Size": "1"}
    assert sc.provisioned_product(product_id).status == "AVAILABLE"
    assert bucket.data["Outputs.BucketName"] == "bucket-v1"
    assert bucket.data["RecordId"] == restores(sc)[0]
    (call,) = sc.calls_to("UpdateProvisionedProduct")
    assert call.params["ProvisioningArtifactId"] == seeded.artifact_id("v1")
    assert call.params["ProvisioningParameters"] == [{"Key": "Size", "Value": "1"}]
    # No plan ran twice: the first plan's, the queue's and the second plan's executions only.
    executed = [r.plan_id for r in sc.records() if r.plan_id is not None]
    assert sorted(executed) == sorted({*executed}) and len(executed) == 3 and second in executed


def test_rollback_after_the_update_failed_re_applies_nothing(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = versions(sc, v2_fails=True)
    stack = cloud.stack("tainted")
    created = stack.create(resource(versioned_plan(sc, seeded, "v1", "1")))
    assert created.status == "CREATE_COMPLETE", created
    product_id = created.outcomes[0].physical_resource_id
    assert product_id is not None

    updated = stack.update(resource(versioned_plan(sc, seeded, "v2", "2")))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    (rollback,) = updated.by_phase("rollback")
    assert rollback.status == "SUCCESS", rollback.reason
    assert rollback.data["Outputs.BucketName"] == "bucket-v1"
    # Service Catalog already rolled the product back: TAINTED on v1, and nothing was re-applied.
    assert sc.provisioned_product(product_id).status == "TAINTED"
    assert sc.current_artifact_id(product_id) == seeded.artifact_id("v1")
    assert sc.current_parameters(product_id) == {"Size": "1"}
    assert sc.calls_to("UpdateProvisionedProduct") == []


def test_returning_to_an_earlier_plan_in_a_later_deployment_re_applies_it_once(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = versions(sc)
    stack = cloud.stack("returned")
    first = versioned_plan(sc, seeded, "v1", "1")
    assert stack.create(resource(first)).status == "CREATE_COMPLETE"
    product_id = stack.resources["Bucket"].physical_resource_id
    assert product_id is not None
    assert stack.update(resource(versioned_plan(sc, seeded, "v2", "2"))).status == "UPDATE_COMPLETE"
    assert sc.current_artifact_id(product_id) == seeded.artifact_id("v2")

    # Delivered twice (Lambda's at-least-once): both deliveries ask with the same UpdateToken.
    returned = stack.update(resource(first), delivery=Delivery(times=2, duplicate_delay=0.3))
    assert returned.status == "UPDATE_COMPLETE", returned
    (outcome,) = returned.outcomes
    assert outcome.physical_resource_id == product_id
    assert outcome.data["Outputs.BucketName"] == "bucket-v1"
    assert sc.current_artifact_id(product_id) == seeded.artifact_id("v1")
    assert sc.current_parameters(product_id) == {"Size": "1"}
    assert len(restores(sc)) == 1
    assert len({c.params["UpdateToken"] for c in sc.calls_to("UpdateProvisionedProduct")}) == 1
    time.sleep(1.5)
    assert outcome.answers == 1
