"""A typo in a raw template's property fails the request before anything is done, naming the
property and the one it most likely meant (docs/behaviour.md#unknown-properties)."""

from __future__ import annotations

from local_cloud.cloud import LocalCloud
from support.scenarios import executions, plan, product, resource


def test_a_typo_fails_the_create_naming_the_property_before_any_service_catalog_call(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    plan_id = plan(sc, product(sc))
    before = sc.provisioned_products()  # the plan's product, as planning left it
    created = cloud.stack("typo").create(resource(plan_id, PolingIntervalSeconds="2"))
    assert created.status == "ROLLBACK_COMPLETE", created
    (failed,) = created.by_phase("create")
    assert failed.status == "FAILED"
    assert failed.reason.startswith(
        "Unknown property PolingIntervalSeconds (did you mean PollingIntervalSeconds?): the provider does not "
        "read it, and nothing was changed."
    )
    assert sc.calls_to("DescribeProvisionedProductPlan") == []
    assert executions(sc) == 0
    assert sc.provisioned_products() == before


def test_a_wrongly_cased_plan_id_is_named_as_such(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    plan_id = plan(sc, product(sc))
    before = sc.provisioned_products()
    created = cloud.stack("cased").create(resource(None, PlanID=plan_id))
    (failed,) = created.by_phase("create")
    assert "Unknown property PlanID (did you mean PlanId?)" in failed.reason
    assert sc.provisioned_products() == before


def test_an_update_that_brings_a_typo_fails_and_rolls_back_to_the_product_as_it_was(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = product(sc)
    stack = cloud.stack("typo-update")
    created = stack.create(resource(plan(sc, seeded)))
    product_id = created.outcomes[0].physical_resource_id

    updated = stack.update(resource(plan(sc, seeded), AllowReplacment="true"))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    (failed,) = updated.by_phase("update")
    assert "Unknown property AllowReplacment (did you mean AllowReplacement?)" in failed.reason
    (rollback,) = updated.by_phase("rollback")
    assert rollback.status == "SUCCESS"
    assert rollback.physical_resource_id == product_id
    assert executions(sc) == 1  # the Create's only
    assert sc.provisioned_product(product_id).status == "AVAILABLE"


def test_the_template_can_keep_properties_the_provider_does_not_read(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    stack = cloud.stack("extras")
    created = stack.create(resource(plan(sc, product(sc)), CostCentre="42", IgnoreUnknownProperties="true"))
    assert created.status == "CREATE_COMPLETE", created
    assert stack.delete().status == "DELETE_COMPLETE"
