"""A shared provider is a deputy: it serves only stacks of its own account and Region, and only the
resource that owns a provisioned product may change, re-apply or terminate it. Every refusal here
leaves Service Catalog exactly as it was."""

from __future__ import annotations

from typing import Any

import pytest

from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import Delivery, Outcome, make_stack_id
from support.scenarios import FAST_POLLING, executions, plan, product, resource


def _send(cloud: LocalCloud, stack_id: str, request_type: str, plan_id: str, physical_id: str | None = None) -> Outcome:
    """A request as another stack's author could make CloudFormation (or a hand-made Invoke) send it."""
    properties: dict[str, Any] = {**FAST_POLLING, "PlanId": plan_id}
    return cloud.cloudformation.send(
        request_type=request_type,  # type: ignore[arg-type]
        stack_id=stack_id,
        resource_type=RESOURCE_TYPE,
        logical_resource_id="Bucket",
        properties=properties,
        old_properties=properties if request_type == "Update" else None,
        physical_resource_id=physical_id,
    )


@pytest.mark.parametrize(
    ("region", "account"),
    [("us-east-1", "999999999999"), ("eu-west-1", "123456789012")],
    ids=["other-account", "other-region"],
)
def test_a_stack_from_elsewhere_is_refused_before_any_service_catalog_call(
    cloud: LocalCloud, region: str, account: str
) -> None:
    sc = cloud.servicecatalog
    plan_id = plan(sc, product(sc))
    sc.clear_calls()
    outcome = _send(cloud, make_stack_id("elsewhere", region=region, account_id=account), "Create", plan_id)
    assert outcome.status == "FAILED"
    assert f"account {account} in Region {region}" in outcome.reason
    assert "serves only stacks in account 123456789012 in Region us-east-1" in outcome.reason
    assert sc.calls == []


def test_another_stack_cannot_update_re_apply_or_terminate_a_product_it_does_not_own(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = product(sc)
    owner = cloud.stack("owner")
    created = owner.create(resource(plan(sc, seeded)))
    assert created.status == "CREATE_COMPLETE", created
    product_id = created.outcomes[0].physical_resource_id
    intruder = make_stack_id("intruder", region="us-east-1", account_id="123456789012")
    next_plan = plan(sc, seeded)
    sc.clear_calls()

    updated = _send(cloud, intruder, "Update", next_plan, physical_id=product_id)
    deleted = _send(cloud, intruder, "Delete", next_plan, physical_id=product_id)

    for outcome, action in ((updated, "update"), (deleted, "terminate")):
        assert outcome.status == "FAILED"
        assert f"Refused to {action} provisioned product {product_id}" in outcome.reason
        assert "belongs to resource Bucket of stack " + owner.stack_id in outcome.reason
        assert "Nothing was changed" in outcome.reason
    assert sc.calls == []
    assert [(p.id, p.status) for p in sc.provisioned_products()] == [(product_id, "AVAILABLE")]

    # The owner's own stack goes on as before: an update with that very plan, then delete.
    assert owner.update(resource(next_plan)).status == "UPDATE_COMPLETE"
    assert owner.delete().status == "DELETE_COMPLETE"
    assert sc.provisioned_products() == []


def test_a_plan_that_targets_another_stacks_product_is_never_executed(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = product(sc)
    owner = cloud.stack("owner")
    assert owner.create(resource(plan(sc, seeded, "shared-name"))).status == "CREATE_COMPLETE"
    before = executions(sc)
    sc.clear_calls()

    # A plan for the same provisioned product name is a plan to update the owner's product.
    hijack = cloud.stack("hijack").create(resource(plan(sc, seeded, "shared-name")))

    assert hijack.status == "ROLLBACK_COMPLETE", hijack
    (refused,) = hijack.by_phase("create")
    assert "Refused to provision provisioned product" in refused.reason
    assert refused.physical_resource_id.startswith("not-provisioned-")  # so the rollback touches nothing
    assert sc.calls_to("ExecuteProvisionedProductPlan") == []
    assert executions(sc) == before
    assert [p.status for p in sc.provisioned_products()] == ["AVAILABLE"]


def test_owner_keeps_working_through_duplicates_and_a_lost_owner_record(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = product(sc)
    owner = cloud.stack("owner")
    twice = Delivery(times=2, duplicate_delay=0.3)
    assert owner.create(resource(plan(sc, seeded)), delivery=twice).status == "CREATE_COMPLETE"
    assert owner.update(resource(plan(sc, seeded)), delivery=twice).status == "UPDATE_COMPLETE"
    product_id = owner.resources["Bucket"].physical_resource_id
    assert product_id is not None

    # The owners table is replaced (say, with the provider stack): no record of this product.
    (table,) = [name for logical_id, name in cloud.tables.items() if logical_id.startswith(_OWNERS_PREFIX)]
    cloud.dynamodb.client().delete_item(TableName=table, Key={"ProvisionedProductId": {"S": product_id}})

    # The legitimate owner is not stuck: its next request adopts the product again...
    assert owner.update(resource(plan(sc, seeded))).status == "UPDATE_COMPLETE"
    # ...and from then on nobody else can touch it.
    intruder = make_stack_id("intruder", region="us-east-1", account_id="123456789012")
    assert _send(cloud, intruder, "Delete", "unused", physical_id=product_id).status == "FAILED"
    assert owner.delete().status == "DELETE_COMPLETE"
    assert sc.provisioned_products() == []


_OWNERS_PREFIX = "ServiceCatalogPlanExecutionProviderOwners"
