"""CloudFormation's sequences on the local cloud: the synthesized asset under awslambdaric, the
Service Catalog emulator over the wire, answers judged on an HTTPS ResponseURL."""

from __future__ import annotations

from local_cloud.cloud import LocalCloud
from local_cloud.cloudformation import CustomResource
from local_cloud.servicecatalog import ProvisioningScript, RecordError
from support.scenarios import executions, plan, product, resource


def test_create_update_same_product_and_delete(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = product(sc, outputs={"BucketName": "bucket-v1", "Arn": "arn:aws:s3:::bucket-v1"})
    stack = cloud.stack("demo")

    created = stack.create(resource(plan(sc, seeded)))
    assert created.status == "CREATE_COMPLETE", created
    (answer,) = created.outcomes
    product_id = answer.physical_resource_id
    assert product_id.startswith("pp-")
    assert answer.data == {
        "ProvisionedProductId": product_id,
        "RecordId": sc.provisioned_product(product_id).last_record_id,
        # What the record applied: the plan's product and version, the product's only launch path.
        "ProductId": seeded.id,
        "ProvisioningArtifactId": seeded.artifact_id("v1"),
        "PathId": seeded.path_id("bucket-portfolio"),
        # The emulator's generic change for a new product: one resource added.
        "Changes.Add": "1",
        "Changes.Modify": "0",
        "Changes.Remove": "0",
        "Changes.Replace": "0",
        # Every output fit in the answer, so none is named as left out.
        "OutputsLeftOut": "",
        "Outputs.BucketName": "bucket-v1",
        "Outputs.Arn": "arn:aws:s3:::bucket-v1",
        # Service Catalog's own output of a CloudFormation product: the stack it launched.
        "Outputs.CloudformationStackARN": sc.provisioned_product(product_id).stack_arn,
    }
    assert sc.provisioned_product(product_id).status == "AVAILABLE"

    sc.set_script(seeded.artifact_id("v1"), ProvisioningScript(duration=0.5, outputs={"BucketName": "bucket-v2"}))
    updated = stack.update(resource(plan(sc, seeded)))
    assert updated.status == "UPDATE_COMPLETE", updated
    (update_answer,) = updated.outcomes
    assert update_answer.physical_resource_id == product_id
    assert update_answer.data["Outputs.BucketName"] == "bucket-v2"
    assert update_answer.data["RecordId"] != answer.data["RecordId"]

    deleted = stack.delete()
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert executions(sc) == 2
    assert len(sc.calls_to("TerminateProvisionedProduct")) == 1
    assert product_id not in {p.id for p in sc.provisioned_products()}
    assert all(len(outcome.puts) == 1 for outcome in [*created.outcomes, *updated.outcomes, *deleted.outcomes])


def test_update_with_same_plan_executes_nothing(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    plan_id = plan(sc, product(sc))
    stack = cloud.stack("same")
    created = stack.create(resource(plan_id))
    updated = stack.update(resource(plan_id, PollingBackoffRate=1.5))
    assert updated.status == "UPDATE_COMPLETE", updated
    assert updated.outcomes[0].physical_resource_id == created.outcomes[0].physical_resource_id
    assert updated.outcomes[0].data == created.outcomes[0].data
    assert executions(sc) == 1


def test_update_to_another_product_replaces_and_cleans_up_the_old_one(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    stack = cloud.stack("replace")
    created = stack.create(resource(plan(sc, product(sc, "bucket"), "first-pp")))
    old_id = created.outcomes[0].physical_resource_id

    updated = stack.update(resource(plan(sc, product(sc, "queue"), "second-pp")))
    assert updated.status == "UPDATE_COMPLETE", updated
    (new_answer,) = updated.by_phase("update")
    (cleanup,) = updated.by_phase("cleanup")
    assert new_answer.physical_resource_id != old_id
    assert cleanup.request_type == "Delete"
    assert cleanup.physical_resource_id == old_id
    assert cleanup.status == "SUCCESS"
    assert {p.id for p in sc.provisioned_products()} == {new_answer.physical_resource_id}


def test_failed_create_rolls_back_and_the_error_product_is_terminated(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = product(sc, errors=[RecordError("CREATE_FAILED", "Bucket name already taken")], in_error_duration=0.2)
    created = cloud.stack("failing").create(resource(plan(sc, seeded)))
    assert created.status == "ROLLBACK_COMPLETE", created
    (failed,) = created.by_phase("create")
    assert failed.status == "FAILED"
    assert "CREATE_FAILED: Bucket name already taken" in failed.reason
    (rollback,) = created.by_phase("rollback")
    assert rollback.request_type == "Delete"
    assert rollback.physical_resource_id == failed.physical_resource_id
    assert rollback.status == "SUCCESS"
    assert sc.provisioned_products() == []


def test_failed_update_rolls_back_to_the_old_plan_without_executing_it_again(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = product(sc)
    stack = cloud.stack("update-fails")
    created = stack.create(resource(plan(sc, seeded)))
    product_id = created.outcomes[0].physical_resource_id

    sc.set_script(
        seeded.artifact_id("v1"), ProvisioningScript(duration=0.3, errors=[RecordError("UPDATE_FAILED", "x")])
    )
    updated = stack.update(resource(plan(sc, seeded)))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    (failed,) = updated.by_phase("update")
    assert failed.status == "FAILED" and "UPDATE_FAILED: x" in failed.reason
    (rollback,) = updated.by_phase("rollback")
    assert rollback.request_type == "Update"
    assert rollback.status == "SUCCESS"
    assert rollback.physical_resource_id == product_id
    assert rollback.data["Outputs.BucketName"] == "bucket-1"
    assert sc.provisioned_product(product_id).status == "TAINTED"
    assert executions(sc) == 2  # the create and the failed update; the rollback executed nothing


def test_record_that_succeeds_but_leaves_the_product_tainted_fails_the_create(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = product(sc, product_status_after_success="TAINTED", product_status_message="drifted")
    created = cloud.stack("tainted").create(resource(plan(sc, seeded)))
    assert created.status == "ROLLBACK_COMPLETE"
    assert "is TAINTED: drifted" in created.by_phase("create")[0].reason


def test_retained_resource_keeps_its_product_on_stack_delete(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    stack = cloud.stack("retain")
    definition = resource(plan(sc, product(sc)))
    retained = CustomResource(
        definition.logical_id, definition.properties, definition.resource_type, deletion_policy="Retain"
    )
    created = stack.create(retained)
    deleted = stack.delete()
    assert deleted.status == "DELETE_COMPLETE"
    assert sc.calls_to("TerminateProvisionedProduct") == []
    assert sc.provisioned_product(created.outcomes[0].physical_resource_id).status == "AVAILABLE"
