"""Emulator features for re-applying products: current versions, plans from a spec, updates, history.

Driven through an unmodified boto3 client against the running emulator, with a manual clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from local_cloud.servicecatalog import (
    NO_CHANGES_MESSAGE,
    ProvisioningScript,
    RecordError,
    SeededProduct,
    ServiceCatalogEmulator,
)


class ManualClock:
    """Stands in for time.time: moves only when the test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sc(clock: ManualClock) -> Iterator[ServiceCatalogEmulator]:
    with ServiceCatalogEmulator(clock=clock) as emulator:
        yield emulator


@pytest.fixture
def client(sc: ServiceCatalogEmulator) -> Any:
    return sc.client(retries={"mode": "standard", "total_max_attempts": 1})


def two_versions(sc: ServiceCatalogEmulator, v2: ProvisioningScript | None = None) -> SeededProduct:
    v1 = ProvisioningScript(duration=2, outputs={"Url": "https://v1"})
    return sc.add_product("p", artifacts={"v1": v1, "v2": v2 or ProvisioningScript()})


def plan_spec(product: SeededProduct, artifact: str, name: str, token: str, **extra: Any) -> dict[str, Any]:
    return {
        "PlanName": f"{name}-plan",
        "PlanType": "CLOUDFORMATION",
        "ProductId": product.id,
        "ProvisionedProductName": name,
        "ProvisioningArtifactId": product.artifact_id(artifact),
        "IdempotencyToken": token,
        **extra,
    }


def plan_details(client: Any, plan_id: str) -> dict[str, Any]:
    details: dict[str, Any] = client.describe_provisioned_product_plan(PlanId=plan_id)["ProvisionedProductPlanDetails"]
    return details


# --------------------------------------------------------------------------- current version


def test_executed_plan_moves_product_to_its_artifact_and_parameters(
    sc: ServiceCatalogEmulator, client: Any, clock: ManualClock
) -> None:
    product = two_versions(sc, ProvisioningScript(duration=3))
    existing = sc.provision(product.id, product.artifact_id("v1"), "web", parameters={"Size": "1", "Env": "dev"})
    spec = plan_spec(
        product,
        "v2",
        "web",
        "plan-1",
        PathId="lpv3-path",
        ProvisioningParameters=[{"Key": "Size", "Value": "2"}, {"Key": "Env", "UsePreviousValue": True}],
    )
    plan = client.create_provisioned_product_plan(**spec)
    details = plan_details(client, plan["PlanId"])
    assert details["ProvisioningParameters"] == spec["ProvisioningParameters"]  # echoed as submitted
    record = client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="run")["RecordDetail"]

    clock.advance(1)  # under way: still the old version
    assert sc.current_artifact_id(existing.id) == product.artifact_id("v1")
    assert sc.current_parameters(existing.id) == {"Size": "1", "Env": "dev"}
    clock.advance(2)
    assert client.describe_record(Id=record["RecordId"])["RecordDetail"]["Status"] == "SUCCEEDED"
    detail = client.describe_provisioned_product(Id=existing.id)["ProvisionedProductDetail"]
    assert (detail["ProductId"], detail["ProvisioningArtifactId"]) == (product.id, product.artifact_id("v2"))
    version = sc.current_version(existing.id)
    assert version.parameters == {"Size": "2", "Env": "dev"}
    assert version.path_id == "lpv3-path"


def test_failed_update_leaves_product_tainted_on_previous_artifact_and_parameters(
    sc: ServiceCatalogEmulator, client: Any, clock: ManualClock
) -> None:
    product = two_versions(sc, ProvisioningScript(duration=2, errors=[RecordError("UPDATE_FAILED", "bad")]))
    existing = sc.provision(product.id, product.artifact_id("v1"), "web", parameters={"Size": "1"})
    plan = client.create_provisioned_product_plan(
        **plan_spec(product, "v2", "web", "p", ProvisioningParameters=[{"Key": "Size", "Value": "9"}])
    )
    client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="run")
    clock.advance(2)

    detail = client.describe_provisioned_product(Id=existing.id)["ProvisionedProductDetail"]
    assert (detail["Status"], detail["ProvisioningArtifactId"]) == ("TAINTED", product.artifact_id("v1"))
    assert sc.current_parameters(existing.id) == {"Size": "1"}


# --------------------------------------------------------------------------- plans from a spec


def test_plan_without_changes_fails_with_aws_message(
    sc: ServiceCatalogEmulator, client: Any, clock: ManualClock
) -> None:
    product = two_versions(sc)
    sc.set_script(product.artifact_id("v1"), ProvisioningScript(plan_duration=4))
    existing = sc.provision(product.id, product.artifact_id("v1"), "web", parameters={"Size": "1"})
    same = [{"Key": "Size", "UsePreviousValue": True}]
    plan = client.create_provisioned_product_plan(**plan_spec(product, "v1", "web", "p", ProvisioningParameters=same))
    assert plan["ProvisionProductId"] == existing.id
    assert plan_details(client, plan["PlanId"])["Status"] == "CREATE_IN_PROGRESS"

    clock.advance(4)
    details = plan_details(client, plan["PlanId"])
    assert (details["Status"], details["StatusMessage"]) == ("CREATE_FAILED", NO_CHANGES_MESSAGE)
    assert NO_CHANGES_MESSAGE == (
        "The submitted information didn't contain changes. Submit different information to create a change set."
    )
    assert client.describe_provisioned_product(Id=existing.id)["ProvisionedProductDetail"]["Status"] == "AVAILABLE"
    changed = [{"Key": "Size", "Value": "2"}]
    other = client.create_provisioned_product_plan(
        **plan_spec(product, "v1", "web", "p2", ProvisioningParameters=changed)
    )
    clock.advance(4)
    assert plan_details(client, other["PlanId"])["Status"] == "CREATE_SUCCESS"


def test_plan_details_carry_the_spec(sc: ServiceCatalogEmulator, client: Any) -> None:
    product = two_versions(sc)
    spec = plan_spec(
        product,
        "v1",
        "fresh",
        "tok",
        PathId="lpv3-abc",
        ProvisioningParameters=[{"Key": "Size", "Value": "10"}],
        Tags=[{"Key": "team", "Value": "platform"}],
        NotificationArns=["arn:aws:sns:us-east-1:123456789012:topic"],
    )
    plan = client.create_provisioned_product_plan(**spec)
    details = plan_details(client, plan["PlanId"])
    expected = {
        "ProductId": product.id,
        "ProvisioningArtifactId": product.artifact_id("v1"),
        "PathId": "lpv3-abc",
        "ProvisioningParameters": [{"Key": "Size", "Value": "10"}],
        "Tags": [{"Key": "team", "Value": "platform"}],
        "NotificationArns": ["arn:aws:sns:us-east-1:123456789012:topic"],
        "PlanType": "CLOUDFORMATION",
        "ProvisionProductName": "fresh",
        "Status": "CREATE_SUCCESS",
    }
    assert {k: details.get(k) for k in expected} == expected


def test_plan_creation_is_idempotent_per_token(sc: ServiceCatalogEmulator, client: Any) -> None:
    product = two_versions(sc)
    first = client.create_provisioned_product_plan(**plan_spec(product, "v1", "app", "same-token"))
    again = client.create_provisioned_product_plan(**plan_spec(product, "v1", "app", "same-token"))
    other = client.create_provisioned_product_plan(**plan_spec(product, "v1", "app", "other-token"))

    assert again["PlanId"] == first["PlanId"]
    assert other["PlanId"] != first["PlanId"]
    assert other["ProvisionProductId"] == first["ProvisionProductId"]  # same name: the same product
    listed = client.list_provisioned_product_plans()["ProvisionedProductPlans"]
    assert sorted(p["PlanId"] for p in listed) == sorted([first["PlanId"], other["PlanId"]])


def test_plan_name_must_fit_the_model(sc: ServiceCatalogEmulator, client: Any) -> None:
    product = two_versions(sc)
    for bad in ("-leading-dash", "has space", "x" * 129):
        with pytest.raises(client.exceptions.InvalidParametersException):
            client.create_provisioned_product_plan(**plan_spec(product, "v1", bad, "tok"))
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.create_provisioned_product_plan(**{**plan_spec(product, "v1", "ok", "tok"), "ProductId": "prod-none"})
    assert sc.provisioned_products() == []


def test_use_previous_value_needs_a_previous_value(sc: ServiceCatalogEmulator, client: Any) -> None:
    product = two_versions(sc)
    sc.provision(product.id, product.artifact_id("v1"), "web", parameters={"Size": "1"})
    unknown = [{"Key": "Missing", "UsePreviousValue": True}]
    with pytest.raises(client.exceptions.InvalidParametersException, match="no previous value"):
        client.create_provisioned_product_plan(**plan_spec(product, "v2", "web", "t", ProvisioningParameters=unknown))


def test_update_plan_resource_changes_scripted_per_artifact_page_past_the_first(
    sc: ServiceCatalogEmulator, client: Any
) -> None:
    changes = [
        {
            "Action": ["ADD", "MODIFY", "REMOVE"][i % 3],
            "LogicalResourceId": f"R{i}",
            "PhysicalResourceId": f"phys-{i}",
            "ResourceType": "AWS::S3::Bucket",
            "Replacement": ["TRUE", "FALSE", "CONDITIONAL"][i % 3],
            "Scope": ["PROPERTIES"],
            "Details": [{"Evaluation": "STATIC", "Target": {"Attribute": "PROPERTIES", "Name": "BucketName"}}],
        }
        for i in range(43)
    ]
    product = two_versions(sc, ProvisioningScript(resource_changes=changes))
    sc.provision(product.id, product.artifact_id("v1"), "web")
    plan = client.create_provisioned_product_plan(**plan_spec(product, "v2", "web", "t"))

    first = client.describe_provisioned_product_plan(PlanId=plan["PlanId"])  # default page: the maximum, 20
    second = client.describe_provisioned_product_plan(PlanId=plan["PlanId"], PageToken=first["NextPageToken"])
    third = client.describe_provisioned_product_plan(
        PlanId=plan["PlanId"], PageSize=20, PageToken=second["NextPageToken"]
    )
    assert [len(p["ResourceChanges"]) for p in (first, second, third)] == [20, 20, 3]
    assert "NextPageToken" not in third
    assert second["ResourceChanges"][0] == changes[20]
    assert third["ResourceChanges"] == changes[40:]


def test_deleted_plans_are_gone_and_logged(sc: ServiceCatalogEmulator, client: Any, clock: ManualClock) -> None:
    product = two_versions(sc, ProvisioningScript(duration=1, errors=[RecordError("E", "boom")]))
    sc.set_script(product.artifact_id("v1"), ProvisioningScript(plan_duration=2))
    sc.provision(product.id, product.artifact_id("v1"), "web", parameters={"Size": "1"})
    pending = client.create_provisioned_product_plan(
        **plan_spec(product, "v1", "web", "a", ProvisioningParameters=[{"Key": "Size", "Value": "2"}])
    )
    with pytest.raises(client.exceptions.InvalidStateException):  # its change set is still being created
        client.delete_provisioned_product_plan(PlanId=pending["PlanId"])
    clock.advance(2)
    same = [{"Key": "Size", "Value": "1"}]
    no_changes = client.create_provisioned_product_plan(
        **plan_spec(product, "v1", "web", "b", ProvisioningParameters=same)
    )
    executed = client.create_provisioned_product_plan(**plan_spec(product, "v2", "web", "c"))
    client.execute_provisioned_product_plan(PlanId=executed["PlanId"], IdempotencyToken="x")
    clock.advance(2)
    assert plan_details(client, no_changes["PlanId"])["Status"] == "CREATE_FAILED"
    assert plan_details(client, executed["PlanId"])["Status"] == "EXECUTE_FAILED"

    for plan in (pending, no_changes, executed):
        client.delete_provisioned_product_plan(PlanId=plan["PlanId"])
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.describe_provisioned_product_plan(PlanId=plan["PlanId"])
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_provisioned_product_plan(PlanId=pending["PlanId"])
    assert sc.deleted_plans() == [pending["PlanId"], no_changes["PlanId"], executed["PlanId"]]
    deletes = sc.calls_to("DeleteProvisionedProductPlan")
    assert [c.error_code for c in deletes] == ["InvalidStateException", None, None, None, "ResourceNotFoundException"]
    assert client.list_provisioned_product_plans()["ProvisionedProductPlans"] == []
