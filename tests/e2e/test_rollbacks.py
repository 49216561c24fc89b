"""Rollbacks caused by *another* resource of the stack: every sequence ends clean, never in
ROLLBACK_FAILED or UPDATE_ROLLBACK_FAILED, and Service Catalog keeps only what the stack owns."""

from __future__ import annotations

from local_cloud.cloud import LocalCloud
from support.scenarios import executions, plan, product, resource


def test_create_rolled_back_by_a_later_resource_terminates_the_product(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    result = cloud.stack("two").create(resource(plan(sc, product(sc))), resource("bad id", "Broken"))
    assert result.status == "ROLLBACK_COMPLETE", result
    rollback = {outcome.logical_resource_id: outcome for outcome in result.by_phase("rollback")}
    assert rollback["Bucket"].request_type == "Delete" and rollback["Bucket"].status == "SUCCESS"
    assert rollback["Broken"].status == "SUCCESS"
    assert sc.provisioned_products() == []


def test_in_place_update_rolled_back_by_a_later_resource_restores_the_old_plan(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = product(sc)
    first = plan(sc, seeded)
    stack = cloud.stack("in-place")
    created = stack.create(resource(first), resource(plan(sc, product(sc, "queue"), "queue-pp"), "Queue"))
    assert created.status == "CREATE_COMPLETE", created
    product_id = created.outcomes[0].physical_resource_id

    updated = stack.update(resource(plan(sc, seeded)), resource("bad id", "Queue"))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    rollback = {outcome.logical_resource_id: outcome for outcome in updated.by_phase("rollback")}
    assert rollback["Bucket"].request_type == "Update"
    assert rollback["Bucket"].status == "SUCCESS"
    assert rollback["Bucket"].physical_resource_id == product_id
    # Two creates and the in-place update executed plans; the rollback executed none but put the
    # product back on the first plan (test_restore.py covers the restore cases).
    assert len([r for r in sc.records() if r.plan_id is not None]) == 3
    assert executions(sc) == 4
    assert len(sc.calls_to("UpdateProvisionedProduct")) == 1


def test_replacement_rolled_back_by_a_later_resource_removes_the_new_product(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    stack = cloud.stack("replaced")
    created = stack.create(
        resource(plan(sc, product(sc), "first-pp")), resource(plan(sc, product(sc, "q"), "q-pp"), "Queue")
    )
    assert created.status == "CREATE_COMPLETE", created
    old_id = created.outcomes[0].physical_resource_id
    queue_id = created.outcomes[1].physical_resource_id

    updated = stack.update(resource(plan(sc, product(sc, "other"), "second-pp")), resource("bad id", "Queue"))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    assert all(outcome.status == "SUCCESS" for outcome in updated.by_phase("rollback-cleanup"))
    assert {p.id for p in sc.provisioned_products()} == {old_id, queue_id}
