"""Emulator features for re-applying products: current versions, plans from a spec, updates, history.

Driven through an unmodified boto3 client against the running emulator, with a manual clock.
"""

from __future__ import annotations

from typing import Any

import pytest

from local_cloud.servicecatalog import (
    NO_CHANGES_MESSAGE,
    ProvisioningScript,
    RecordError,
    SeededProduct,
    ServiceCatalogEmulator,
)
from support.clock import ManualClock


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


# --------------------------------------------------------------------------- UpdateProvisionedProduct


def record_status(client: Any, record_id: str) -> str:
    return str(client.describe_record(Id=record_id)["RecordDetail"]["Status"])


def test_update_moves_through_states_and_applies_use_previous_value(
    sc: ServiceCatalogEmulator, client: Any, clock: ManualClock
) -> None:
    product = two_versions(sc, ProvisioningScript(duration=10, outputs={"Url": "https://v2"}))
    existing = sc.provision(product.id, product.artifact_id("v1"), "web", parameters={"Size": "1", "Env": "dev"})

    record = client.update_provisioned_product(
        ProvisionedProductName="web",
        ProductName="p",
        ProvisioningArtifactName="v2",
        ProvisioningParameters=[{"Key": "Size", "Value": "3"}, {"Key": "Env", "UsePreviousValue": True}],
        Tags=[{"Key": "team", "Value": "platform"}],
        UpdateToken="upd-1",
        AcceptLanguage="en",
    )["RecordDetail"]
    assert (record["RecordType"], record["Status"]) == ("UPDATE_PROVISIONED_PRODUCT", "CREATED")
    assert record["ProvisioningArtifactId"] == product.artifact_id("v2")
    assert record["RecordTags"] == [{"Key": "team", "Value": "platform"}]
    detail = client.describe_provisioned_product(Id=existing.id)["ProvisionedProductDetail"]
    assert (detail["Status"], detail["LastRecordId"]) == ("UNDER_CHANGE", record["RecordId"])

    clock.advance(5)
    assert record_status(client, record["RecordId"]) == "IN_PROGRESS"
    assert sc.current_artifact_id(existing.id) == product.artifact_id("v1")
    clock.advance(5)
    finished = client.describe_record(Id=record["RecordId"])
    assert finished["RecordDetail"]["Status"] == "SUCCEEDED"
    assert finished["RecordOutputs"][0] == {"OutputKey": "Url", "OutputValue": "https://v2", "Description": ""}
    assert [o["OutputKey"] for o in finished["RecordOutputs"][1:]] == ["CloudformationStackARN"]
    assert finished["RecordDetail"]["UpdatedTime"].timestamp() == pytest.approx(clock.now, abs=0.01)
    detail = client.describe_provisioned_product(Id=existing.id)["ProvisionedProductDetail"]
    assert (detail["Status"], detail["ProvisioningArtifactId"]) == ("AVAILABLE", product.artifact_id("v2"))
    assert detail["LastSuccessfulProvisioningRecordId"] == record["RecordId"]
    assert sc.current_parameters(existing.id) == {"Size": "3", "Env": "dev"}


def test_update_token_is_idempotent(sc: ServiceCatalogEmulator, client: Any, clock: ManualClock) -> None:
    product = two_versions(sc, ProvisioningScript(duration=4))
    existing = sc.provision(product.id, product.artifact_id("v1"), "web")
    update = {"ProvisionedProductId": existing.id, "ProvisioningArtifactId": product.artifact_id("v2")}

    first = client.update_provisioned_product(**update, UpdateToken="tok")["RecordDetail"]
    again = client.update_provisioned_product(**update, UpdateToken="tok")["RecordDetail"]  # while UNDER_CHANGE
    clock.advance(4)
    after = client.update_provisioned_product(**update, UpdateToken="tok")["RecordDetail"]

    assert again["RecordId"] == after["RecordId"] == first["RecordId"]
    assert after["Status"] == "SUCCEEDED"
    updates = [r for r in sc.records() if r.record_type == "UPDATE_PROVISIONED_PRODUCT"]
    assert [r.id for r in updates] == [first["RecordId"]]
    second = client.update_provisioned_product(**update, UpdateToken="tok-2")["RecordDetail"]
    assert second["RecordId"] != first["RecordId"]


def test_update_refused_while_under_change_or_plan_in_progress(sc: ServiceCatalogEmulator, client: Any) -> None:
    product = two_versions(sc, ProvisioningScript(duration=4))
    existing = sc.provision(product.id, product.artifact_id("v1"), "web")
    client.update_provisioned_product(
        ProvisionedProductId=existing.id, ProvisioningArtifactId=product.artifact_id("v2"), UpdateToken="a"
    )
    with pytest.raises(client.exceptions.InvalidStateException, match="UNDER_CHANGE"):
        client.update_provisioned_product(ProvisionedProductId=existing.id, UpdateToken="b")

    planned = client.create_provisioned_product_plan(**plan_spec(product, "v1", "new-one", "t"))
    planned_product = client.describe_provisioned_product(Id=planned["ProvisionProductId"])
    assert planned_product["ProvisionedProductDetail"]["Status"] == "PLAN_IN_PROGRESS"
    with pytest.raises(client.exceptions.InvalidStateException, match="PLAN_IN_PROGRESS"):
        client.update_provisioned_product(ProvisionedProductName="new-one", UpdateToken="c")
    assert [c.error_code for c in sc.calls_to("UpdateProvisionedProduct")] == [
        None,
        "InvalidStateException",
        "InvalidStateException",
    ]


def test_failed_update_leaves_product_tainted_on_old_artifact(
    sc: ServiceCatalogEmulator, client: Any, clock: ManualClock
) -> None:
    failing = ProvisioningScript(duration=4, errors=[RecordError("UPDATE_FAILED", "bad")], in_error_duration=2)
    product = two_versions(sc, failing)
    existing = sc.provision(product.id, product.artifact_id("v1"), "web", parameters={"Size": "1"})
    record = client.update_provisioned_product(
        ProvisionedProductId=existing.id,
        ProvisioningArtifactId=product.artifact_id("v2"),
        ProvisioningParameters=[{"Key": "Size", "Value": "2"}],
        UpdateToken="u",
    )["RecordDetail"]

    clock.advance(3)
    assert record_status(client, record["RecordId"]) == "IN_PROGRESS_IN_ERROR"
    clock.advance(1)
    assert record_status(client, record["RecordId"]) == "FAILED"
    detail = client.describe_provisioned_product(Id=existing.id)["ProvisionedProductDetail"]
    assert (detail["Status"], detail["StatusMessage"]) == ("TAINTED", "bad")
    assert detail["ProvisioningArtifactId"] == product.artifact_id("v1")
    assert detail["LastSuccessfulProvisioningRecordId"] == existing.last_successful_provisioning_record_id
    assert sc.current_parameters(existing.id) == {"Size": "1"}
    assert sc.provisioned_product(existing.id).outputs == {"Url": "https://v1"}
    # TAINTED is stable: the product can be updated again.
    retry = client.update_provisioned_product(ProvisionedProductId=existing.id, UpdateToken="u2")["RecordDetail"]
    assert retry["ProvisioningArtifactId"] == product.artifact_id("v1")


def test_update_errors(sc: ServiceCatalogEmulator, client: Any) -> None:
    product = two_versions(sc)
    other = sc.add_product("other")
    existing = sc.provision(product.id, product.artifact_id("v1"), "web", parameters={"Size": "1"})
    by_id = {"ProvisionedProductId": existing.id, "UpdateToken": "t"}
    not_found: list[dict[str, Any]] = [
        {"ProvisionedProductId": "pp-missing", "UpdateToken": "t"},
        {"ProvisionedProductName": "nope", "UpdateToken": "t"},
        {**by_id, "ProvisioningArtifactId": "pa-missing"},
        {**by_id, "ProvisioningArtifactName": "v9"},
        {**by_id, "ProductName": "no-such-product"},
    ]
    for params in not_found:
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.update_provisioned_product(**params)
    invalid: list[dict[str, Any]] = [
        {"UpdateToken": "t"},
        {**by_id, "ProvisionedProductName": "web"},
        {**by_id, "ProductId": product.id, "ProductName": "p"},
        {**by_id, "ProvisioningArtifactId": product.artifact_id("v1"), "ProvisioningArtifactName": "v1"},
        {**by_id, "ProductId": other.id},
        {**by_id, "ProvisioningParameters": [{"Key": "Gone", "UsePreviousValue": True}]},
        {**by_id, "ProvisioningParameters": [{"Key": "Size"}]},
        {**by_id, "ProvisioningParameters": [{"Key": "Size", "Value": "1"}, {"Key": "Size", "Value": "2"}]},
        {**by_id, "UpdateToken": "-bad-token"},
    ]
    for params in invalid:
        with pytest.raises(client.exceptions.InvalidParametersException):
            client.update_provisioned_product(**params)
    assert [r.record_type for r in sc.records()] == ["PROVISION_PRODUCT"]
    assert sc.provisioned_product(existing.id).status == "AVAILABLE"


# --------------------------------------------------------------------------- ListRecordHistory


def all_history(client: Any, **filters: Any) -> tuple[list[dict[str, Any]], list[int]]:
    records: list[dict[str, Any]] = []
    sizes: list[int] = []
    kwargs: dict[str, Any] = dict(filters)
    while True:
        page = client.list_record_history(**kwargs)
        records += page["RecordDetails"]
        sizes.append(len(page["RecordDetails"]))
        if "NextPageToken" not in page:
            return records, sizes
        kwargs["PageToken"] = page["NextPageToken"]


def test_history_pages_newest_first(sc: ServiceCatalogEmulator, client: Any, clock: ManualClock) -> None:
    product = two_versions(sc)
    existing = sc.provision(product.id, product.artifact_id("v1"), "web")
    seeded = sc.seed_record_history(existing.id, durations=[float(i) for i in range(44)], gap=1.0)
    newest_ids = [existing.last_record_id] + [r.id for r in reversed(seeded)]

    records, sizes = all_history(client, PageSize=20)
    assert sizes == [20, 20, 5]
    assert [r["RecordId"] for r in records] == newest_ids
    created = [r["CreatedTime"] for r in records]
    assert created == sorted(created, reverse=True)
    default_page = client.list_record_history()
    assert len(default_page["RecordDetails"]) == 20  # no PageSize: the model's maximum
    with pytest.raises(client.exceptions.InvalidParametersException):
        client.list_record_history(PageToken="garbage")


def test_history_filters_by_provisioned_product_and_product(
    sc: ServiceCatalogEmulator, client: Any, clock: ManualClock
) -> None:
    product = two_versions(sc, ProvisioningScript(duration=1))
    other = sc.add_product("other")
    web = sc.provision(product.id, product.artifact_id("v1"), "web")
    api = sc.provision(product.id, product.artifact_id("v1"), "api")
    unrelated = sc.provision(other.id, other.artifact_id("v1"), "elsewhere")
    update = client.update_provisioned_product(
        ProvisionedProductId=web.id, ProvisioningArtifactId=product.artifact_id("v2"), UpdateToken="u"
    )["RecordDetail"]
    clock.advance(1)

    by_pp, _ = all_history(client, SearchFilter={"Key": "provisionedproduct", "Value": web.id})
    assert [r["RecordId"] for r in by_pp] == [update["RecordId"], web.last_record_id]
    assert [r["RecordType"] for r in by_pp] == ["UPDATE_PROVISIONED_PRODUCT", "PROVISION_PRODUCT"]
    assert by_pp[0]["Status"] == "SUCCEEDED"
    by_product, _ = all_history(client, SearchFilter={"Key": "product", "Value": product.id})
    assert {r["ProvisionedProductId"] for r in by_product} == {web.id, api.id}
    assert len(by_product) == 3
    everything, _ = all_history(client)
    assert unrelated.last_record_id in {r["RecordId"] for r in everything}
    assert all_history(client, SearchFilter={"Key": "product", "Value": "prod-none"})[0] == []
    for bad in ({"Key": "stack", "Value": web.id}, {"Key": "product"}):
        with pytest.raises(client.exceptions.InvalidParametersException):
            client.list_record_history(SearchFilter=bad)


def test_seeded_history_reports_chosen_durations(sc: ServiceCatalogEmulator, client: Any, clock: ManualClock) -> None:
    product = two_versions(sc)
    durations = [300.0, 420.0, 95.5]
    seeded = sc.seed_record_history(product.id, durations, gap=30.0)
    sc.seed_record_history(product.id, [5.0], status="FAILED", record_type="UPDATE_PROVISIONED_PRODUCT", gap=1.0)

    records, _ = all_history(client, SearchFilter={"Key": "product", "Value": product.id})
    succeeded = [r for r in records if r["Status"] == "SUCCEEDED"]
    measured = [(r["UpdatedTime"] - r["CreatedTime"]).total_seconds() for r in reversed(succeeded)]
    assert measured == pytest.approx(durations, abs=0.01)
    assert all(r["RecordType"] == "PROVISION_PRODUCT" for r in succeeded)
    assert succeeded[0]["UpdatedTime"].timestamp() == pytest.approx(clock.now - 30.0, abs=0.01)
    assert len({r.provisioned_product_id for r in seeded}) == 3  # each an earlier, terminated launch
    assert all(sc.provisioned_product(r.provisioned_product_id).terminated for r in seeded)
    failed = records[0]
    assert (failed["Status"], failed["RecordType"]) == ("FAILED", "UPDATE_PROVISIONED_PRODUCT")
    assert failed["RecordErrors"]
    assert sc.provisioned_products() == []


def test_history_access_levels(sc: ServiceCatalogEmulator, client: Any) -> None:
    product = two_versions(sc)
    existing = sc.provision(product.id, product.artifact_id("v1"), "web")
    theirs = sc.seed_record_history(existing.id, [10.0, 20.0], created_by_caller=False)
    mine = [existing.last_record_id]

    def ids(**access: Any) -> list[str]:
        return [r["RecordId"] for r in all_history(client, **access)[0]]

    assert ids() == mine
    assert ids(AccessLevelFilter={"Key": "User", "Value": "self"}) == mine
    assert ids(AccessLevelFilter={"Key": "Role", "Value": "self"}) == mine
    assert ids(AccessLevelFilter={"Key": "Account", "Value": "self"}) == mine + [r.id for r in reversed(theirs)]
    assert len(ids(AccessLevelFilter={"Key": "Account", "Value": "123456789012"})) == 3
    with pytest.raises(client.exceptions.InvalidParametersException):
        client.list_record_history(AccessLevelFilter={"Key": "User", "Value": "someone-else"})


def test_new_operations_are_logged_and_can_be_throttled(sc: ServiceCatalogEmulator, client: Any) -> None:
    product = two_versions(sc)
    existing = sc.provision(product.id, product.artifact_id("v1"), "web")
    sc.inject_throttling(every=1, operations=["UpdateProvisionedProduct", "ListRecordHistory"])
    with pytest.raises(client.exceptions.ClientError) as throttled_update:
        client.update_provisioned_product(ProvisionedProductId=existing.id, UpdateToken="u")
    with pytest.raises(client.exceptions.ClientError) as throttled_history:
        client.list_record_history()
    for excinfo in (throttled_update, throttled_history):
        assert excinfo.value.response["Error"]["Code"] == "ThrottlingException"
    client.describe_provisioned_product(Id=existing.id)  # other operations pass

    sc.inject_throttling(every=0)
    client.update_provisioned_product(ProvisionedProductId=existing.id, UpdateToken="u")
    client.list_record_history(PageSize=5)
    log = [(c.operation, c.throttled) for c in sc.calls]
    assert log == [
        ("UpdateProvisionedProduct", True),
        ("ListRecordHistory", True),
        ("DescribeProvisionedProduct", False),
        ("UpdateProvisionedProduct", False),
        ("ListRecordHistory", False),
    ]
    assert sc.calls_to("ListRecordHistory")[-1].params == {"PageSize": 5}
    patient = sc.client(retries={"mode": "standard", "max_attempts": 3})
    sc.inject_throttling(every=2, operations=["ListRecordHistory"])
    patient.list_record_history()
    patient.list_record_history()
    assert [c.throttled for c in sc.calls_to("ListRecordHistory")][-3:] == [False, True, False]


# --------------------------------------------------------------------------- seeding helpers


def test_seeded_update_plan_skips_the_no_changes_check_unless_asked(sc: ServiceCatalogEmulator) -> None:
    # End-to-end suites seed "same artifact, edited template" update plans; they must stay executable.
    product = two_versions(sc)
    existing = sc.provision(product.id, product.artifact_id("v1"), "web", parameters={"Size": "1"})
    same = [{"Key": "Size", "Value": "1"}]
    seeded = sc.create_plan(product.id, product.artifact_id("v1"), "web", parameters=same)
    checked = sc.create_plan(product.id, product.artifact_id("v1"), "web", parameters=same, detect_no_changes=True)

    assert (seeded.provisioned_product_id, seeded.is_update) == (existing.id, True)
    assert sc.plan(seeded.id).status == "CREATE_SUCCESS"
    assert (sc.plan(checked.id).status, sc.plan(checked.id).status_message) == ("CREATE_FAILED", NO_CHANGES_MESSAGE)


def test_resource_changes_scripted_per_plan(sc: ServiceCatalogEmulator, client: Any) -> None:
    product = two_versions(sc)
    sc.provision(product.id, product.artifact_id("v1"), "web")
    plan = client.create_provisioned_product_plan(**plan_spec(product, "v2", "web", "t"))
    generic = client.describe_provisioned_product_plan(PlanId=plan["PlanId"])["ResourceChanges"]
    assert [(c["Action"], c["Scope"]) for c in generic] == [("MODIFY", ["PROPERTIES"])]

    removal = {"Action": "REMOVE", "LogicalResourceId": "Old", "ResourceType": "AWS::SQS::Queue"}
    sc.script_plan(plan["PlanId"], ProvisioningScript(resource_changes=[removal]))
    assert client.describe_provisioned_product_plan(PlanId=plan["PlanId"])["ResourceChanges"] == [removal]
