"""Seeding helpers for end-to-end scenarios: products, plans and the custom resource using them."""

from __future__ import annotations

from typing import Any

from local_cloud.cloud import RESOURCE_TYPE
from local_cloud.cloudformation import CustomResource
from local_cloud.servicecatalog import ProvisioningScript, SeededProduct, ServiceCatalogEmulator

# Fast polling keeps suites short; the defaults are measured by `make bench`.
FAST_POLLING = {"PollingIntervalSeconds": 0.2, "PollingBackoffRate": 1.0, "PollingMaxIntervalSeconds": 0.2}


def product(sc: ServiceCatalogEmulator, name: str = "bucket", **script: Any) -> SeededProduct:
    script.setdefault("duration", 0.5)
    script.setdefault("outputs", {"BucketName": f"{name}-1"})
    return sc.add_product(name, ProvisioningScript(**script))


def plan(sc: ServiceCatalogEmulator, seeded: SeededProduct, provisioned_name: str = "bucket-pp") -> str:
    """A new plan for the named provisioned product. The real service allows one plan per product,
    so, as a user must, the product's earlier plans are deleted first (with IgnoreErrors: a failed
    execution's change set cannot be deleted otherwise); a rollback to one of them is restored from
    the provider's record."""
    delete_plans_of(sc, provisioned_name)
    return sc.create_plan(seeded.id, seeded.artifact_id("v1"), provisioned_name).id


def delete_plans_of(sc: ServiceCatalogEmulator, provisioned_name: str) -> None:
    """Delete every plan of a provisioned product, through the API as a user would."""
    client = sc.client()
    for existing in sc.plans():
        if existing.provisioned_product_name == provisioned_name:
            client.delete_provisioned_product_plan(PlanId=existing.id, IgnoreErrors=True)


def executions(sc: ServiceCatalogEmulator) -> int:
    """Plan executions that really happened: the emulator's provisioning and update records."""
    return len([r for r in sc.records() if r.record_type != "TERMINATE_PROVISIONED_PRODUCT"])


def resource(plan_id: str | None, logical_id: str = "Bucket", **properties: Any) -> CustomResource:
    props: dict[str, Any] = {**FAST_POLLING, **properties}
    if plan_id is not None:
        props["PlanId"] = plan_id
    return CustomResource(logical_id, props, resource_type=RESOURCE_TYPE)


def spec_resource(seeded: SeededProduct, name: str, logical_id: str = "Bucket", **properties: Any) -> CustomResource:
    """A spec-mode resource: the product's version v1 under provisioned product `name`."""
    props: dict[str, Any] = {
        **FAST_POLLING,
        "ProductId": seeded.id,
        "ProvisioningArtifactId": seeded.artifact_id("v1"),
        "ProvisionedProductName": name,
        **properties,
    }
    return CustomResource(logical_id, props, resource_type=RESOURCE_TYPE)
