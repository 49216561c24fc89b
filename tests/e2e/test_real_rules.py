"""The handler under the real service's stricter rules (local_cloud/servicecatalog/rules.py), and
under each answer of the rules nobody could settle here: one plan per product, failed plans kept
unless deleted with IgnoreErrors, either no-change message, any error code for executing an
executed plan (with or without token replay), placeholders kept or removed, and reads that do not
find what was just written. Every sequence ends with the product where the template says, no plan
left behind and the stack never stuck."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import CustomResource, Delivery
from local_cloud.servicecatalog import (
    NO_CHANGES_MESSAGE,
    NO_UPDATES_MESSAGE,
    ProvisioningScript,
    RecordError,
    SeededProduct,
    ServiceCatalogEmulator,
    ServiceRules,
)
from support.scenarios import FAST_POLLING, delete_plans_of, resource

NAME = "bucket-pp"


def with_rules(cloud: LocalCloud, **rules: Any) -> ServiceCatalogEmulator:
    sc = cloud.servicecatalog
    sc.rules = dataclasses.replace(ServiceRules.real(), **rules)
    return sc


def versions(sc: ServiceCatalogEmulator, *, v2_fails: bool = False, resource_changes: Any = None) -> SeededProduct:
    """Two versions whose outputs tell them apart; v2's update can be made to fail."""
    errors = [RecordError("UPDATE_FAILED", "v2 cannot be applied")] if v2_fails else []
    return sc.add_product(
        "bucket",
        artifacts={
            "v1": ProvisioningScript(
                duration=0.3, outputs={"BucketName": "bucket-v1"}, resource_changes=resource_changes
            ),
            "v2": ProvisioningScript(duration=0.3, outputs={"BucketName": "bucket-v2"}, errors=errors),
        },
    )


def user_plan(sc: ServiceCatalogEmulator, seeded: SeededProduct, version: str, size: str) -> str:
    """What a user does on the real service: delete the product's executed plan, then plan again."""
    delete_plans_of(sc, NAME)
    return sc.create_plan(seeded.id, seeded.artifact_id(version), NAME, parameters=[{"Key": "Size", "Value": size}]).id


def spec(seeded: SeededProduct, version: str = "v1", **properties: Any) -> CustomResource:
    props: dict[str, Any] = {
        **FAST_POLLING,
        "ProductId": seeded.id,
        "ProvisioningArtifactId": seeded.artifact_id(version),
        "ProvisionedProductName": NAME,
        **properties,
    }
    return CustomResource("Bucket", props, resource_type=RESOURCE_TYPE)


def on(sc: ServiceCatalogEmulator, product_id: str, seeded: SeededProduct, version: str) -> bool:
    return sc.current_artifact_id(product_id) == seeded.artifact_id(version)


def live_plans(sc: ServiceCatalogEmulator) -> list[str]:
    return [p.id for p in sc.plans()]


@pytest.mark.parametrize("message", [NO_CHANGES_MESSAGE, NO_UPDATES_MESSAGE], ids=["change-set", "no-updates"])
def test_spec_failed_update_rolls_back_and_the_next_deployment_works(cloud: LocalCloud, message: str) -> None:
    """The failed update's plan (EXECUTE_FAILED) is deleted with IgnoreErrors, the rollback plans the
    old spec and finds nothing to change (in either wording), and the next deployment can plan."""
    sc = with_rules(cloud, no_changes_message=message)
    seeded = versions(sc, v2_fails=True)
    stack = cloud.stack("spec-failed-update")
    assert stack.create(spec(seeded)).status == "CREATE_COMPLETE"
    product_id = stack.resources["Bucket"].physical_resource_id
    assert product_id is not None

    updated = stack.update(spec(seeded, "v2"))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    (rollback,) = updated.by_phase("rollback")
    assert rollback.status == "SUCCESS", rollback.reason
    assert on(sc, product_id, seeded, "v1")
    assert live_plans(sc) == []  # the failed plan too: nothing blocks the product's next plan
    assert all(c.params.get("IgnoreErrors") is True for c in sc.calls_to("DeleteProvisionedProductPlan"))

    sc.set_script(seeded.artifact_id("v2"), ProvisioningScript(duration=0.3, outputs={"BucketName": "bucket-v2"}))
    fixed = stack.update(spec(seeded, "v2"))
    assert fixed.status == "UPDATE_COMPLETE", fixed
    assert on(sc, product_id, seeded, "v2")
    assert live_plans(sc) == []


def test_plan_mode_rollback_restores_a_plan_the_user_deleted(cloud: LocalCloud) -> None:
    """One plan per product: the user deletes plan A before creating B. When another resource fails
    after B applied, the rollback names A, which is gone: it is restored from the provider's record."""
    sc = cloud.servicecatalog
    seeded = versions(sc)
    sibling = sc.add_product("queue", ProvisioningScript(duration=0.3, outputs={"QueueName": "q"}))
    stack = cloud.stack("deleted-plan")
    first = user_plan(sc, seeded, "v1", "small")
    queue_plan = sc.create_plan(sibling.id, sibling.artifact_id("v1"), "queue-pp").id
    assert stack.create(resource(first), resource(queue_plan, "Queue")).status == "CREATE_COMPLETE"
    product_id = stack.resources["Bucket"].physical_resource_id
    assert product_id is not None

    second = user_plan(sc, seeded, "v2", "large")
    assert first not in live_plans(sc)
    updated = stack.update(resource(second), resource("bad id", "Queue"))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    rollback = {o.logical_resource_id: o for o in updated.by_phase("rollback")}
    assert rollback["Bucket"].status == "SUCCESS", rollback["Bucket"].reason
    assert on(sc, product_id, seeded, "v1")
    assert sc.current_parameters(product_id) == {"Size": "small"}
    (restore,) = sc.calls_to("UpdateProvisionedProduct")
    assert restore.params["ProvisioningParameters"] == [{"Key": "Size", "Value": "small"}]
    assert rollback["Bucket"].data["Changes.Add"] == "1"  # plan A's summary, from the record


CANDIDATE_CODES = (
    "InvalidStateException",
    "InvalidParametersException",
    "ResourceNotFoundException",
    "ValidationException",
)


@pytest.mark.parametrize("replays", [True, False], ids=["token-replays", "token-refused"])
@pytest.mark.parametrize("code", CANDIDATE_CODES)
def test_rollbacks_hold_whatever_executing_an_executed_plan_answers(
    cloud: LocalCloud, code: str, replays: bool
) -> None:
    """Executed plans stay here (they do not count toward one plan per product in this setting), so
    a duplicated Create meets its executed plan, and the rollback names one: whichever error code
    the service gives a refused execute, and whether or not it replays the token, the decision
    comes from the plan's status and the provider's records."""
    sc = with_rules(cloud, execute_refusal_error=code, execute_token_replays=replays, executed_plans_count=False)
    seeded = versions(sc)
    queue = sc.add_product("queue", ProvisioningScript(duration=0.3, outputs={"QueueName": "q"}))
    stack = cloud.stack(f"refusal-{code[:8].lower()}-{replays}")
    first = sc.create_plan(seeded.id, seeded.artifact_id("v1"), NAME).id
    queue_plan = sc.create_plan(queue.id, queue.artifact_id("v1"), "queue-pp").id
    twice = Delivery(times=2, duplicate_delay=0.2)
    created = stack.create(resource(first), resource(queue_plan, "Queue"), delivery=twice)
    assert created.status == "CREATE_COMPLETE", created
    create = created.outcomes[0]
    product_id = create.physical_resource_id
    assert product_id is not None
    assert len([r for r in sc.records() if r.plan_id == first]) == 1  # executed once

    second = sc.create_plan(seeded.id, seeded.artifact_id("v2"), NAME).id
    # Adding a resource that fails validation makes CloudFormation roll the stack back.
    updated = stack.update(resource(second), resource("bad id", "Queue"))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    assert on(sc, product_id, seeded, "v1")
    assert len([r for r in sc.records() if r.plan_id == first]) == 1  # restored, never re-executed
    assert create.answers == 1


def test_create_and_update_whose_new_records_are_briefly_not_found(cloud: LocalCloud) -> None:
    sc = with_rules(cloud, not_found_reads=3)
    seeded = versions(sc)
    stack = cloud.stack("slow-visibility")
    created = stack.create(resource(user_plan(sc, seeded, "v1", "small")))
    assert created.status == "CREATE_COMPLETE", created
    product_id = stack.resources["Bucket"].physical_resource_id
    assert product_id is not None
    updated = stack.update(resource(user_plan(sc, seeded, "v2", "large")))
    assert updated.status == "UPDATE_COMPLETE", updated
    assert on(sc, product_id, seeded, "v2")
    assert any(c.error_code == "ResourceNotFoundException" for c in sc.calls_to("DescribeRecord"))


def test_delete_while_a_product_read_answers_not_found_still_terminates(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = versions(sc)
    stack = cloud.stack("missed-read")
    assert stack.create(resource(user_plan(sc, seeded, "v1", "small"))).status == "CREATE_COMPLETE"
    sc.inject_not_found("DescribeProvisionedProduct", times=1)
    deleted = stack.delete()
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert sc.provisioned_products() == []
    assert len(sc.calls_to("TerminateProvisionedProduct")) >= 1


@pytest.mark.parametrize("fate", ["kept", "removed"])
def test_the_next_create_of_a_name_works_after_a_refused_first_one(cloud: LocalCloud, fate: str) -> None:
    """The gate refuses a new product's plan: the plan is deleted and, if the service keeps its
    placeholder product, that is terminated too (nothing is left that no resource holds). A later
    Create of the same name, allowed, provisions it."""
    sc = with_rules(cloud, placeholder_after_plan_deleted=fate)
    replacing = [
        {
            "Action": "MODIFY",
            "LogicalResourceId": "Bucket",
            "ResourceType": "AWS::S3::Bucket",
            "Replacement": "TRUE",
            "Scope": ["PROPERTIES"],
            "Details": [],
        }
    ]
    seeded = versions(sc, resource_changes=replacing)
    refused = cloud.stack("refused-first").create(spec(seeded))
    assert refused.status == "ROLLBACK_COMPLETE", refused
    assert "would be replaced" in refused.by_phase("create")[0].reason
    assert sc.provisioned_products() == []
    assert live_plans(sc) == []

    allowed = cloud.stack("allowed-second").create(spec(seeded, AllowReplacement="true"))
    assert allowed.status == "CREATE_COMPLETE", allowed
    (product,) = sc.provisioned_products()
    assert product.name == NAME and product.status == "AVAILABLE"
