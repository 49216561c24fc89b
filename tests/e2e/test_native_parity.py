"""What the native CloudFormationProvisionedProduct and Terraform's aws_servicecatalog_provisioned_product
take, end to end on the local cloud (the real service's rules): products, versions and launch paths
by name; deleting with RetainPhysicalResources or TerminateIgnoreErrors; adopting an existing
provisioned product only on purpose; and whether changed tags can take effect, in the log."""

from __future__ import annotations

from typing import Any

import pytest

from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import CustomResource
from local_cloud.servicecatalog import ProvisioningScript, RecordError, SeededProduct, ServiceCatalogEmulator
from support.scenarios import FAST_POLLING, plan, resource

NAME = "named-bucket-pp"
NOT_EMPTY = [RecordError("DELETE_FAILED", "The bucket you tried to delete is not empty")]


def catalog(sc: ServiceCatalogEmulator, **options: Any) -> SeededProduct:
    """A product with two versions (outputs tell them apart) in two portfolios, Engineering and Data."""
    return sc.add_product(
        "Analytics bucket",
        artifacts={
            "v1": ProvisioningScript(duration=0.3, outputs={"BucketName": "bucket-v1"}),
            "v2": ProvisioningScript(duration=0.3, outputs={"BucketName": "bucket-v2"}),
        },
        portfolios=["Engineering", "Data"],
        **options,
    )


def spec(name: str = NAME, logical_id: str = "Bucket", **properties: Any) -> CustomResource:
    return CustomResource(
        logical_id, {**FAST_POLLING, "ProvisionedProductName": name, **properties}, resource_type=RESOURCE_TYPE
    )


def by_names(version: str = "v1", path: str = "Data", **properties: Any) -> CustomResource:
    return spec(ProductName="Analytics bucket", ProvisioningArtifactName=version, PathName=path, **properties)


def planned(sc: ServiceCatalogEmulator) -> list[dict[str, Any]]:
    return [call.params for call in sc.calls_to("CreateProvisionedProductPlan") if call.error_code is None]


def test_deploy_from_names_and_switching_to_the_same_ids_plans_nothing(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = catalog(sc)
    stack = cloud.stack("names")
    created = stack.create(by_names(Tags=[{"Key": "team", "Value": "data"}]))
    assert created.status == "CREATE_COMPLETE", created
    (create,) = created.outcomes
    product_id = create.physical_resource_id
    (asked,) = planned(sc)
    ids = {
        "ProductId": seeded.id,
        "ProvisioningArtifactId": seeded.artifact_id("v1"),
        "PathId": seeded.path_id("Data"),
    }
    assert {key: asked[key] for key in ids} == ids  # Service Catalog got ids only
    assert {key: create.data[key] for key in ids} == ids  # and so does GetAtt
    assert create.data["Outputs.BucketName"] == "bucket-v1"
    assert [c.params for c in sc.calls_to("DescribeProduct")] == [{"Name": "Analytics bucket"}]

    # The same product by ids: nothing to plan, not even a plan with nothing in it.
    sc.clear_calls()
    same = stack.update(spec(**ids, Tags=[{"Key": "team", "Value": "data"}]))
    assert same.status == "UPDATE_COMPLETE", same
    assert same.outcomes[0].physical_resource_id == product_id
    assert sc.calls_to("CreateProvisionedProductPlan") == []
    assert {key: same.outcomes[0].data[key] for key in ids} == ids

    # Back to names with another version: planned against the same product.
    moved = stack.update(by_names("v2", Tags=[{"Key": "team", "Value": "data"}]))
    assert moved.status == "UPDATE_COMPLETE", moved
    (update,) = moved.by_phase("update")
    assert update.physical_resource_id == product_id
    assert update.data["ProvisioningArtifactId"] == seeded.artifact_id("v2")
    assert sc.current_artifact_id(product_id or "") == seeded.artifact_id("v2")
    assert stack.delete().status == "DELETE_COMPLETE"


def test_a_product_with_one_launch_path_needs_no_path_and_reports_the_one_taken(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = sc.add_product("Queue", ProvisioningScript(duration=0.3))
    created = cloud.stack("one-path").create(spec(ProductName="Queue", ProvisioningArtifactName="v1"))
    assert created.status == "CREATE_COMPLETE", created
    (asked,) = planned(sc)
    assert "PathId" not in asked  # Service Catalog's default path
    assert created.outcomes[0].data["PathId"] == seeded.path_id("Queue-portfolio")


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        (
            {"ProductName": "Analytics buckets", "ProvisioningArtifactName": "v1", "PathName": "Data"},
            "ProductName 'Analytics buckets' is not a product the provider function's role can see",
        ),
        (
            {"ProductName": "Analytics bucket", "ProvisioningArtifactName": "v3", "PathName": "Data"},
            "ProvisioningArtifactName 'v3' is not an active version of product Analytics bucket ({id}): its "
            "versions are v1 ({v1}, DEFAULT), v2 ({v2}, DEFAULT)",
        ),
        (
            {"ProductName": "Analytics bucket", "ProvisioningArtifactName": "v1"},
            "has 2 launch paths for the provider function's role, so the spec must choose one with PathName (the "
            "portfolio's name) or PathId: Engineering ({engineering}), Data ({data})",
        ),
        (
            {"ProductName": "Analytics bucket", "ProvisioningArtifactName": "v1", "PathName": "Sales"},
            "PathName 'Sales' is not a launch path of product Analytics bucket ({id})",
        ),
        (
            {"ProductId": "{id}", "ProvisioningArtifactName": "v1", "PathName": "Data", "ProductName": "x"},
            "ProductId and ProductName are both given",
        ),
        (
            {"ProductName": "Analytics bucket", "PathName": "Data"},
            "ProvisioningArtifactId (or ProvisioningArtifactName) is missing",
        ),
    ],
    ids=["unknown-product", "unknown-version", "ambiguous-path", "unknown-path", "both-of-a-pair", "neither"],
)
def test_names_that_do_not_resolve_fail_listing_what_exists_before_planning(
    cloud: LocalCloud, properties: dict[str, str], reason: str
) -> None:
    sc = cloud.servicecatalog
    seeded = catalog(sc)
    values = {
        "id": seeded.id,
        "v1": seeded.artifact_id("v1"),
        "v2": seeded.artifact_id("v2"),
        "engineering": seeded.path_id("Engineering"),
        "data": seeded.path_id("Data"),
    }
    resolved = {key: value.format(**values) for key, value in properties.items()}
    result = cloud.stack("unresolved").create(spec(**resolved))
    assert result.status == "ROLLBACK_COMPLETE", result
    (create,) = result.by_phase("create")
    assert reason.format(**values) in create.reason
    assert create.physical_resource_id is not None and create.physical_resource_id.startswith("not-provisioned-")
    assert {call.operation for call in sc.calls} <= {"DescribeProduct"}  # nothing planned
    assert sc.provisioned_products() == []


def test_a_product_the_role_cannot_see_says_how_to_grant_access(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = catalog(sc)
    sc.revoke_launch_access(seeded.id)
    result = cloud.stack("hidden").create(by_names())
    assert result.status == "ROLLBACK_COMPLETE", result
    reason = result.by_phase("create")[0].reason
    assert "ProductName 'Analytics bucket' is not a product the provider function's role can see" in reason
    assert "No launch paths found for resource" in reason
    assert "principal of the product's portfolio (construct prop 'portfolio', or AssociatePrincipalWithPortfolio)" in (
        reason
    )


def test_a_deprecated_version_launches_no_new_product_but_updates_an_existing_one(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = catalog(sc)
    owner = cloud.stack("deprecated-owner")
    assert owner.create(by_names("v1", ProvisioningParameters=[{"Key": "Size", "Value": "1"}])).status == (
        "CREATE_COMPLETE"
    )
    product_id = owner.resources["Bucket"].physical_resource_id
    sc.set_guidance(seeded.artifact_id("v1"), "DEPRECATED")

    refused = cloud.stack("deprecated-new").create(by_names("v1", name="another-bucket-pp"))
    assert refused.status == "ROLLBACK_COMPLETE", refused
    reason = refused.by_phase("create")[0].reason
    assert f"Version v1 ({seeded.artifact_id('v1')}, DEPRECATED) of product Analytics bucket" in reason
    assert f"Use one of its current versions: v2 ({seeded.artifact_id('v2')}, DEFAULT)" in reason
    assert len(sc.provisioned_products()) == 1

    # The existing product may still be updated on its deprecated version.
    updated = owner.update(by_names("v1", ProvisioningParameters=[{"Key": "Size", "Value": "2"}]))
    assert updated.status == "UPDATE_COMPLETE", updated
    assert updated.outcomes[0].physical_resource_id == product_id
    assert sc.current_parameters(product_id or "") == {"Size": "2"}


@pytest.mark.parametrize("mode", ["spec", "plan"])
@pytest.mark.parametrize(
    ("option", "outcome"),
    [
        (None, "DELETE_FAILED"),
        ("RetainPhysicalResources", "DELETE_COMPLETE"),
        ("TerminateIgnoreErrors", "DELETE_COMPLETE"),
    ],
    ids=["default", "retain", "ignore-errors"],
)
def test_delete_with_each_terminate_option(cloud: LocalCloud, mode: str, option: str | None, outcome: str) -> None:
    sc = cloud.servicecatalog
    seeded = sc.add_product(
        "stuck", ProvisioningScript(duration=0.3, terminate_duration=0.3, terminate_errors=NOT_EMPTY)
    )
    options = {option: "true"} if option else {}
    definition = (
        spec(ProductId=seeded.id, ProvisioningArtifactId=seeded.artifact_id("v1"), **options)
        if mode == "spec"
        else resource(plan(sc, seeded, NAME), **options)
    )
    stack = cloud.stack(f"delete-{mode}")
    assert stack.create(definition).status == "CREATE_COMPLETE"
    product_id = stack.resources["Bucket"].physical_resource_id or ""

    deleted = stack.delete()
    assert deleted.status == outcome, deleted
    (terminate,) = sc.calls_to("TerminateProvisionedProduct")
    assert {k: v for k, v in terminate.params.items() if k not in ("ProvisionedProductId", "TerminateToken")} == (
        {option.replace("Terminate", ""): True} if option else {}
    )
    product = sc.provisioned_product(product_id)
    if option is None:
        reason = deleted.by_phase("delete")[0].reason
        assert "The bucket you tried to delete is not empty" in reason
        assert 'TerminateIgnoreErrors or RetainPhysicalResources "true", deployed before the Delete' in reason
        assert not product.terminated and product.status == "ERROR"
    else:
        assert product.terminated
        assert product.physical_resources_retained is (option == "RetainPhysicalResources")


def test_a_failed_replacement_is_removed_without_the_delete_options(cloud: LocalCloud) -> None:
    """The resource's delete options are for its own Delete: a replacement the stack never held is
    terminated with its resources, whatever they say."""
    sc = cloud.servicecatalog
    seeded = sc.add_product(
        "bucket",
        artifacts={
            "v1": ProvisioningScript(duration=0.3),
            "v2": ProvisioningScript(duration=0.3, errors=[RecordError("CREATE_FAILED", "v2 cannot be applied")]),
        },
    )
    options = {"RetainPhysicalResources": "true", "TerminateIgnoreErrors": "true"}
    stack = cloud.stack("replacement")
    assert stack.create(
        spec(ProductId=seeded.id, ProvisioningArtifactId=seeded.artifact_id("v1"), **options)
    ).status == ("CREATE_COMPLETE")
    result = stack.update(
        spec("renamed-bucket-pp", ProductId=seeded.id, ProvisioningArtifactId=seeded.artifact_id("v2"), **options)
    )
    assert result.status == "UPDATE_ROLLBACK_COMPLETE", result
    (terminate,) = sc.calls_to("TerminateProvisionedProduct")
    assert "RetainPhysicalResources" not in terminate.params and "IgnoreErrors" not in terminate.params
    replacement = sc.provisioned_product(terminate.params["ProvisionedProductId"])
    assert replacement.terminated and not replacement.physical_resources_retained


def test_adopting_an_existing_product_only_on_purpose(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = catalog(sc)
    legacy = sc.provision(seeded.id, seeded.artifact_id("v1"), "legacy-bucket", path_id=seeded.path_id("Data"))

    typo = cloud.stack("adopt-refused").create(by_names("v2", name="legacy-bucket"))
    assert typo.status == "ROLLBACK_COMPLETE", typo
    reason = typo.by_phase("create")[0].reason
    assert f"ProvisionedProductName legacy-bucket is provisioned product {legacy.id}" in reason
    assert 'Set AdoptExisting: "true"' in reason
    assert planned(sc) == [] and sc.current_artifact_id(legacy.id) == seeded.artifact_id("v1")

    # On purpose: planned, gated as any change (this plan replaces a resource), then adopted.
    sc.set_script(
        seeded.artifact_id("v2"),
        ProvisioningScript(
            duration=0.3,
            outputs={"BucketName": "bucket-v2"},
            resource_changes=[
                {
                    "Action": "MODIFY",
                    "LogicalResourceId": "Data",
                    "ResourceType": "AWS::S3::Bucket",
                    "Replacement": "TRUE",
                    "Scope": ["PROPERTIES"],
                    "Details": [],
                }
            ],
        ),
    )
    stack = cloud.stack("adopt")
    gated = stack.create(by_names("v2", name="legacy-bucket", AdoptExisting="true"))
    assert gated.status == "ROLLBACK_COMPLETE", gated
    assert "AllowReplacement" in gated.by_phase("create")[0].reason
    assert not sc.provisioned_product(legacy.id).terminated  # the refused Create's rollback left it alone

    adopted = stack.create(by_names("v2", name="legacy-bucket", AdoptExisting="true", AllowReplacement="true"))
    assert adopted.status == "CREATE_COMPLETE", adopted
    assert adopted.outcomes[0].physical_resource_id == legacy.id
    assert sc.current_artifact_id(legacy.id) == seeded.artifact_id("v2")
    # Owned from then on: another stack cannot take it, even with the flag; this one deletes it.
    other = cloud.stack("adopt-again").create(by_names("v2", name="legacy-bucket", AdoptExisting="true"))
    assert other.status == "ROLLBACK_COMPLETE" and "it belongs to" in other.by_phase("create")[0].reason
    assert stack.delete().status == "DELETE_COMPLETE"
    assert sc.provisioned_product(legacy.id).terminated


def test_own_product_after_a_lost_owner_record_is_no_adoption(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = catalog(sc)
    stack = cloud.stack("own")
    assert stack.create(by_names("v1")).status == "CREATE_COMPLETE"
    product_id = stack.resources["Bucket"].physical_resource_id or ""
    (table,) = [name for logical_id, name in cloud.tables.items() if logical_id.startswith(OWNERS_PREFIX)]
    cloud.dynamodb.client().delete_item(TableName=table, Key={"ProvisionedProductId": {"S": product_id}})
    updated = stack.update(by_names("v2"))
    assert updated.status == "UPDATE_COMPLETE", updated
    assert sc.current_artifact_id(product_id) == seeded.artifact_id("v2")


def test_changed_tags_say_in_the_log_whether_they_can_take_effect(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = catalog(sc)
    stack = cloud.stack("tags")
    assert stack.create(by_names(Tags=[{"Key": "team", "Value": "data"}])).status == "CREATE_COMPLETE"
    no_constraint = "Tags changed, but the product has no RESOURCE_UPDATE constraint"
    constrained = "Tags changed: the product has a RESOURCE_UPDATE constraint"

    assert stack.update(by_names(Tags=[{"Key": "team", "Value": "platform"}])).status == "UPDATE_COMPLETE"
    logs = cloud.function.log_text()
    assert no_constraint in logs and constrained not in logs
    assert "docs/spec-mode.md#tags: 'Changing tags of an existing product'" in logs

    sc.add_tag_update_constraint(seeded.id, path_id=seeded.path_id("Data"))
    assert stack.update(by_names(Tags=[{"Key": "team", "Value": "analytics"}])).status == "UPDATE_COMPLETE"
    assert constrained in cloud.function.log_text()
    asked = sc.calls_to("DescribeProvisioningParameters")
    assert [c.params.get("PathId") for c in asked] == [seeded.path_id("Data")] * 2
    # Unchanged tags ask nothing.
    assert stack.update(by_names("v2", Tags=[{"Key": "team", "Value": "analytics"}])).status == "UPDATE_COMPLETE"
    assert len(sc.calls_to("DescribeProvisioningParameters")) == 2


OWNERS_PREFIX = "ServiceCatalogPlanExecutionProviderOwners"
