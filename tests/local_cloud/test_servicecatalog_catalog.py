"""The catalog as an end user reads it (DescribeProduct, DescribeProvisioningParameters), the rules on
what a plan may launch (deprecated versions, several launch paths), and the two ways to terminate
that leave something behind (RetainPhysicalResources, IgnoreErrors), through unmodified boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_cloud.servicecatalog import ProvisioningScript, RecordError, ServiceCatalogEmulator, validate_output
from support.clock import ManualClock


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def plan_for(client: Any, product_id: str, artifact_id: str, name: str, **extra: Any) -> dict[str, Any]:
    response: dict[str, Any] = client.create_provisioned_product_plan(
        PlanName=f"{name}-plan",
        PlanType="CLOUDFORMATION",
        ProductId=product_id,
        ProvisioningArtifactId=artifact_id,
        ProvisionedProductName=name,
        IdempotencyToken=f"{name}-{artifact_id}",
        **extra,
    )
    return response


def test_describe_product_by_id_and_by_name_lists_versions_and_launch_paths(
    sc: ServiceCatalogEmulator, client: Any
) -> None:
    seeded = sc.add_product(
        "bucket",
        artifacts={"v1": ProvisioningScript(), "v2": ProvisioningScript()},
        deprecated=["v1"],
        portfolios=["Engineering", "Data"],
    )
    by_id = client.describe_product(Id=seeded.id)
    by_name = client.describe_product(Name="bucket")
    for answer in (by_id, by_name):
        assert answer["ProductViewSummary"]["ProductId"] == seeded.id
        assert answer["ProductViewSummary"]["Name"] == "bucket"
        assert answer["ProductViewSummary"]["HasDefaultPath"] is False  # two paths: the caller must choose
        assert [(a["Id"], a["Name"], a["Guidance"]) for a in answer["ProvisioningArtifacts"]] == [
            (seeded.artifact_id("v1"), "v1", "DEPRECATED"),
            (seeded.artifact_id("v2"), "v2", "DEFAULT"),
        ]
        assert answer["LaunchPaths"] == [
            {"Id": seeded.path_id("Engineering"), "Name": "Engineering"},
            {"Id": seeded.path_id("Data"), "Name": "Data"},
        ]
    single = sc.add_product("queue")
    answer = client.describe_product(Id=single.id)
    assert answer["ProductViewSummary"]["HasDefaultPath"] is True
    assert answer["LaunchPaths"] == [{"Id": single.path_id("queue-portfolio"), "Name": "queue-portfolio"}]


def test_describe_product_refuses_unknown_invisible_and_ambiguous_lookups(
    sc: ServiceCatalogEmulator, client: Any
) -> None:
    seeded = sc.add_product("bucket")
    with pytest.raises(ClientError) as unknown:
        client.describe_product(Name="buckets")
    assert error_of(unknown)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as both:
        client.describe_product(Id=seeded.id, Name="bucket")
    assert error_of(both)[0] == "InvalidParametersException"
    with pytest.raises(ClientError) as neither:
        client.describe_product()
    assert error_of(neither)[0] == "InvalidParametersException"
    sc.revoke_launch_access(seeded.id)
    for lookup in ({"Id": seeded.id}, {"Name": "bucket"}):
        with pytest.raises(ClientError) as hidden:
            client.describe_product(**lookup)
        assert error_of(hidden) == ("ResourceNotFoundException", f"No launch paths found for resource: {seeded.id}")
    sc.grant_launch_access(seeded.id)
    assert client.describe_product(Name="bucket")["ProductViewSummary"]["ProductId"] == seeded.id


def test_describe_provisioning_parameters_shows_constraint_types_only(sc: ServiceCatalogEmulator, client: Any) -> None:
    seeded = sc.add_product("bucket", ProvisioningScript(outputs={"BucketName": "b"}), portfolios=["Eng", "Data"])
    sc.add_tag_update_constraint(seeded.id, allowed=False, path_id=seeded.path_id("Data"))

    def constraints(**path: str) -> list[dict[str, str]]:
        answer = client.describe_provisioning_parameters(
            ProductId=seeded.id, ProvisioningArtifactId=seeded.artifact_id("v1"), **path
        )
        assert answer["ProvisioningArtifactOutputKeys"] == [{"Key": "BucketName", "Description": ""}]
        found: list[dict[str, str]] = answer["ConstraintSummaries"]
        return found

    # NOT_ALLOWED or ALLOWED, an end user sees the same summary: the type, no parameters.
    assert constraints(PathName="Data") == [{"Type": "RESOURCE_UPDATE", "Description": ""}]
    assert constraints(PathId=seeded.path_id("Eng")) == []
    with pytest.raises(ClientError) as no_path:
        constraints()
    assert error_of(no_path)[0] == "InvalidParametersException"  # two launch paths: one must be chosen
    with pytest.raises(ClientError) as unknown_path:
        constraints(PathName="Sales")
    assert error_of(unknown_path)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as both:
        client.describe_provisioning_parameters(
            ProductId=seeded.id, ProductName="bucket", ProvisioningArtifactName="v1"
        )
    assert error_of(both)[0] == "InvalidParametersException"


def test_a_deprecated_version_updates_a_product_but_launches_no_new_one(
    sc: ServiceCatalogEmulator, client: Any, clock: ManualClock
) -> None:
    seeded = sc.add_product("bucket", artifacts={"v1": ProvisioningScript(), "v2": ProvisioningScript()})
    existing = sc.provision(seeded.id, seeded.artifact_id("v2"), "old-bucket")
    sc.set_guidance(seeded.artifact_id("v1"), "DEPRECATED")
    with pytest.raises(ClientError) as refused:
        plan_for(client, seeded.id, seeded.artifact_id("v1"), "new-bucket")
    code, message = error_of(refused)
    assert code == "InvalidParametersException" and "deprecated" in message
    assert sc.provisioned_products() == [sc.provisioned_product(existing.id)]  # no placeholder either
    update = plan_for(client, seeded.id, seeded.artifact_id("v1"), "old-bucket")
    assert update["ProvisionProductId"] == existing.id
    clock.advance(1)
    assert sc.plan(update["PlanId"]).status == "CREATE_SUCCESS"


def test_several_launch_paths_need_a_path_and_records_carry_the_path_taken(
    sc: ServiceCatalogEmulator, client: Any, clock: ManualClock
) -> None:
    shared = sc.add_product("bucket", portfolios=["Eng", "Data"])
    with pytest.raises(ClientError) as refused:
        plan_for(client, shared.id, shared.artifact_id("v1"), "b1")
    assert error_of(refused)[0] == "InvalidParametersException"
    chosen = plan_for(client, shared.id, shared.artifact_id("v1"), "b1", PathId=shared.path_id("Data"))
    record = client.execute_provisioned_product_plan(PlanId=chosen["PlanId"], IdempotencyToken="run-1")
    assert record["RecordDetail"]["PathId"] == shared.path_id("Data")
    # A product with one launch path: a plan without PathId takes it, and the record says so.
    single = sc.add_product("queue")
    plan = plan_for(client, single.id, single.artifact_id("v1"), "q1")
    record = client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="run-2")
    assert record["RecordDetail"]["PathId"] == single.path_id("queue-portfolio")
    clock.advance(1)
    assert sc.current_version(plan["ProvisionProductId"]).path_id == single.path_id("queue-portfolio")


def test_terminate_retaining_resources_or_ignoring_errors_removes_the_product(
    sc: ServiceCatalogEmulator, client: Any, clock: ManualClock
) -> None:
    not_empty = [RecordError("DELETE_FAILED", "bucket not empty")]
    stuck = ProvisioningScript(terminate_duration=1, terminate_errors=not_empty)
    seeded = sc.add_product("bucket", stuck)
    plain, retained, ignored = (sc.provision(seeded.id, seeded.artifact_id("v1"), n) for n in ("a", "b", "c"))
    records = {
        plain.id: client.terminate_provisioned_product(ProvisionedProductId=plain.id, TerminateToken="t1"),
        retained.id: client.terminate_provisioned_product(
            ProvisionedProductId=retained.id, TerminateToken="t2", RetainPhysicalResources=True
        ),
        ignored.id: client.terminate_provisioned_product(
            ProvisionedProductId=ignored.id, TerminateToken="t3", IgnoreErrors=True
        ),
    }
    clock.advance(2)
    status = {pp: sc.record(r["RecordDetail"]["RecordId"]).status for pp, r in records.items()}
    assert status == {plain.id: "FAILED", retained.id: "SUCCEEDED", ignored.id: "SUCCEEDED"}
    assert sc.provisioned_product(plain.id).status == "ERROR" and not sc.provisioned_product(plain.id).terminated
    assert sc.provisioned_product(retained.id).terminated
    assert sc.provisioned_product(retained.id).physical_resources_retained
    assert sc.provisioned_product(ignored.id).terminated
    assert not sc.provisioned_product(ignored.id).physical_resources_retained


def test_catalog_reads_match_botocore_output_shapes(sc: ServiceCatalogEmulator) -> None:
    bodies: list[tuple[Any, int, bytes]] = []
    client = sc.client(retries={"mode": "standard", "total_max_attempts": 1})
    client.meta.events.register(
        "after-call.servicecatalog",
        lambda http_response, model, **_: bodies.append((model, http_response.status_code, http_response.content)),
    )
    seeded = sc.add_product("bucket", deprecated=["v1"], portfolios=["Eng", "Data"])
    sc.add_tag_update_constraint(seeded.id)
    client.describe_product(Name="bucket")
    client.describe_provisioning_parameters(
        ProductId=seeded.id, ProvisioningArtifactName="v1", PathName="Eng", AcceptLanguage="zh"
    )
    assert [model.name for model, _, _ in bodies] == ["DescribeProduct", "DescribeProvisioningParameters"]
    for model, status, content in bodies:
        assert status == 200
        assert validate_output(model, json.loads(content)) == [], model.name
