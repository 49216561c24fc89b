"""The Service Catalog emulator, driven through unmodified boto3 clients and raw HTTP.

Most tests drive time with a manual clock (fast and deterministic); the lifecycle test runs on the
wall clock with short durations to cover the real-time path.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import create_parser
from botocore.validate import ParamValidator

from local_cloud.servicecatalog import (
    ProvisionedProduct,
    ProvisioningScript,
    RecordError,
    SeededProduct,
    ServiceCatalogEmulator,
    ServiceRules,
    validate_output,
)
from support.clock import ManualClock


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def create_plan(client: Any, product_id: str, artifact_id: str, name: str, **extra: Any) -> dict[str, Any]:
    response: dict[str, Any] = client.create_provisioned_product_plan(
        PlanName=f"{name}-plan",
        PlanType="CLOUDFORMATION",
        ProductId=product_id,
        ProvisionedProductName=name,
        ProvisioningArtifactId=artifact_id,
        **extra,
    )
    return response


def plan_update_of_web(
    sc: ServiceCatalogEmulator, client: Any, v2: ProvisioningScript
) -> tuple[SeededProduct, ProvisionedProduct, dict[str, Any]]:
    """Product "p" with v1 (output Url=https://v1) provisioned as "web", and a plan updating it to ``v2``."""
    product = sc.add_product("p", artifacts={"v1": ProvisioningScript(outputs={"Url": "https://v1"}), "v2": v2})
    existing = sc.provision(product.id, product.artifact_id("v1"), "web")
    return product, existing, create_plan(client, product.id, product.artifact_id("v2"), "web")


def plan_status(client: Any, plan_id: str) -> str:
    return str(client.describe_provisioned_product_plan(PlanId=plan_id)["ProvisionedProductPlanDetails"]["Status"])


def record_status(client: Any, record_id: str) -> str:
    return str(client.describe_record(Id=record_id)["RecordDetail"]["Status"])


def product_detail(client: Any, pp_id: str) -> dict[str, Any]:
    detail: dict[str, Any] = client.describe_provisioned_product(Id=pp_id)["ProvisionedProductDetail"]
    return detail


def all_outputs(client: Any, record_id: str) -> tuple[list[dict[str, str]], list[int]]:
    outputs: list[dict[str, str]] = []
    sizes: list[int] = []
    kwargs: dict[str, Any] = {"Id": record_id}
    while True:
        page = client.describe_record(**kwargs)
        outputs += page["RecordOutputs"]
        sizes.append(len(page["RecordOutputs"]))
        if not page.get("NextPageToken"):
            return outputs, sizes
        kwargs["PageToken"] = page["NextPageToken"]


def wait_until(read: Callable[[], str], wanted: set[str], timeout: float = 5.0) -> list[str]:
    """Poll ``read`` until it returns one of ``wanted``; returns every distinct value seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = read()
        if not seen or seen[-1] != value:
            seen.append(value)
        if value in wanted:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"never reached {wanted}; saw {seen}")


def raw_post(endpoint: str, operation: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if operation is not None:
        headers["X-Amz-Target"] = f"AWS242ServiceCatalogService.{operation}"
    request = urllib.request.Request(endpoint + "/", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# --------------------------------------------------------------------------- wire protocol


def test_unmodified_boto3_uses_json_protocol_via_endpoint_env_var(
    sc: ServiceCatalogEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SERVICE_CATALOG", sc.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "dummy")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy")
    plain = boto3.client("servicecatalog", region_name="eu-west-3")

    assert plain.meta.service_model.resolved_protocol == "json"
    assert plain.list_provisioned_product_plans()["ProvisionedProductPlans"] == []
    assert [c.operation for c in sc.calls] == ["ListProvisionedProductPlans"]


# --------------------------------------------------------------------------- lifecycle


def test_full_plan_lifecycle_on_the_wall_clock() -> None:
    outputs = {f"Output{i:03d}": f"value-{i}-" + "x" * 2000 for i in range(45)}
    script = ProvisioningScript(plan_duration=0.3, duration=0.6, outputs=outputs)
    with ServiceCatalogEmulator(rules=ServiceRules.lenient()) as sc:
        product = sc.add_product("bucket", script)
        client = sc.client()

        plan = create_plan(client, product.id, product.artifact_id("v1"), "my-bucket")
        pp_id = plan["ProvisionProductId"]
        assert pp_id.startswith("pp-")
        assert product_detail(client, pp_id)["Status"] == "PLAN_IN_PROGRESS"
        assert plan_status(client, plan["PlanId"]) == "CREATE_IN_PROGRESS"
        wait_until(lambda: plan_status(client, plan["PlanId"]), {"CREATE_SUCCESS"})

        record = client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="run-1")
        detail = record["RecordDetail"]
        assert (detail["Status"], detail["RecordType"]) == ("CREATED", "PROVISION_PRODUCT")
        assert detail["ProvisionedProductId"] == pp_id
        assert product_detail(client, pp_id)["Status"] == "UNDER_CHANGE"
        assert plan_status(client, plan["PlanId"]) == "EXECUTE_IN_PROGRESS"

        seen = wait_until(lambda: record_status(client, detail["RecordId"]), {"SUCCEEDED", "FAILED"})
        assert seen[-1] == "SUCCEEDED"
        assert "IN_PROGRESS" in seen

        received, page_sizes = all_outputs(client, detail["RecordId"])
        assert page_sizes == [20, 20, 6]  # the 45 scripted outputs, then the product's own stack
        by_key = {o["OutputKey"]: o["OutputValue"] for o in received}
        stack_arn = by_key.pop("CloudformationStackARN")
        assert stack_arn.startswith(f"arn:aws:cloudformation:us-east-1:123456789012:stack/SC-123456789012-{pp_id}/")
        assert by_key == outputs

        final = product_detail(client, pp_id)
        assert final["Status"] == "AVAILABLE"
        assert final["LastRecordId"] == final["LastSuccessfulProvisioningRecordId"] == detail["RecordId"]
        assert final["IdempotencyToken"] == "run-1"
        assert plan_status(client, plan["PlanId"]) == "EXECUTE_SUCCESS"
        assert sc.provisioned_product(pp_id).outputs == outputs


def test_execute_is_idempotent_per_token(sc: ServiceCatalogEmulator, client: Any, clock: ManualClock) -> None:
    product = sc.add_product("p", ProvisioningScript(duration=10))
    plan = create_plan(client, product.id, product.artifact_id("v1"), "idem")

    first = client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="tok")
    again = client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="tok")
    clock.advance(11)
    after_done = client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="tok")

    record_id = first["RecordDetail"]["RecordId"]
    assert again["RecordDetail"]["RecordId"] == after_done["RecordDetail"]["RecordId"] == record_id
    assert after_done["RecordDetail"]["Status"] == "SUCCEEDED"
    assert [r.id for r in sc.records()] == [record_id]
    assert len(sc.calls_to("ExecuteProvisionedProductPlan")) == 3
    with pytest.raises(ClientError) as excinfo:
        client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="other")
    assert error_code(excinfo) == "InvalidStateException"


def test_only_a_create_success_plan_can_be_executed(
    sc: ServiceCatalogEmulator, client: Any, clock: ManualClock
) -> None:
    slow = sc.add_product("slow", ProvisioningScript(plan_duration=5))
    broken = sc.add_product("broken", ProvisioningScript(plan_failure="Template format error"))
    pending = create_plan(client, slow.id, slow.artifact_id("v1"), "pending")
    failed = create_plan(client, broken.id, broken.artifact_id("v1"), "failed")

    with pytest.raises(client.exceptions.InvalidStateException):
        client.execute_provisioned_product_plan(PlanId=pending["PlanId"], IdempotencyToken="a")
    details = client.describe_provisioned_product_plan(PlanId=failed["PlanId"])["ProvisionedProductPlanDetails"]
    assert (details["Status"], details["StatusMessage"]) == ("CREATE_FAILED", "Template format error")
    with pytest.raises(client.exceptions.InvalidStateException):
        client.execute_provisioned_product_plan(PlanId=failed["PlanId"], IdempotencyToken="a")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.execute_provisioned_product_plan(PlanId="plan-doesnotexist", IdempotencyToken="a")

    clock.advance(5)
    assert plan_status(client, pending["PlanId"]) == "CREATE_SUCCESS"
    client.execute_provisioned_product_plan(PlanId=pending["PlanId"], IdempotencyToken="a")


def test_failed_provision_passes_through_in_progress_in_error(
    sc: ServiceCatalogEmulator, client: Any, clock: ManualClock
) -> None:
    errors = [RecordError("CREATE_FAILED", "Bucket already exists"), RecordError("ROLLBACK", "Rolled back")]
    product = sc.add_product("p", ProvisioningScript(duration=10, errors=errors, in_error_duration=4))
    plan = create_plan(client, product.id, product.artifact_id("v1"), "doomed")
    record_id = client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="t")["RecordDetail"][
        "RecordId"
    ]

    statuses = []
    for _ in range(11):
        statuses.append(record_status(client, record_id))
        clock.advance(1)
    assert statuses[:2] == ["CREATED", "IN_PROGRESS"]
    assert statuses[6:10] == ["IN_PROGRESS_IN_ERROR"] * 4
    assert statuses[-1] == "FAILED"

    record = client.describe_record(Id=record_id)
    assert record["RecordDetail"]["RecordErrors"] == [
        {"Code": "CREATE_FAILED", "Description": "Bucket already exists"},
        {"Code": "ROLLBACK", "Description": "Rolled back"},
    ]
    assert record["RecordOutputs"] == []
    detail = product_detail(client, plan["ProvisionProductId"])
    assert detail["Status"] == "ERROR"
    assert "Bucket already exists" in detail["StatusMessage"]
    assert "LastSuccessfulProvisioningRecordId" not in detail
    assert plan_status(client, plan["PlanId"]) == "EXECUTE_FAILED"


def test_failed_update_leaves_product_tainted_on_previous_version(
    sc: ServiceCatalogEmulator, client: Any, clock: ManualClock
) -> None:
    product, existing, plan = plan_update_of_web(
        sc, client, ProvisioningScript(duration=3, errors=[RecordError("UPDATE_FAILED", "Bad property")])
    )
    assert plan["ProvisionProductId"] == existing.id
    assert product_detail(client, existing.id)["Status"] == "AVAILABLE"

    record = client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="t")["RecordDetail"]
    assert record["RecordType"] == "UPDATE_PROVISIONED_PRODUCT"
    clock.advance(3)

    assert record_status(client, record["RecordId"]) == "FAILED"
    detail = product_detail(client, existing.id)
    assert (detail["Status"], detail["StatusMessage"]) == ("TAINTED", "Bad property")
    assert detail["ProvisioningArtifactId"] == product.artifact_id("v1")
    assert detail["LastSuccessfulProvisioningRecordId"] == existing.last_successful_provisioning_record_id
    assert detail["LastRecordId"] == detail["LastProvisioningRecordId"] == record["RecordId"]
    previous, _ = all_outputs(client, detail["LastSuccessfulProvisioningRecordId"])
    assert previous[0] == {"OutputKey": "Url", "OutputValue": "https://v1", "Description": ""}
    assert [o["OutputKey"] for o in previous[1:]] == ["CloudformationStackARN"]
    assert sc.provisioned_product(existing.id).outputs == {"Url": "https://v1"}


def test_successful_update_moves_version_and_outputs(
    sc: ServiceCatalogEmulator, client: Any, clock: ManualClock
) -> None:
    product, existing, plan = plan_update_of_web(
        sc, client, ProvisioningScript(duration=1, outputs={"Url": "https://v2"})
    )
    changes = client.describe_provisioned_product_plan(PlanId=plan["PlanId"])["ResourceChanges"]
    assert [c["Action"] for c in changes] == ["MODIFY"]
    record = client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="t")["RecordDetail"]
    clock.advance(1)

    detail = product_detail(client, existing.id)
    assert (detail["Status"], detail["ProvisioningArtifactId"]) == ("AVAILABLE", product.artifact_id("v2"))
    assert detail["LastSuccessfulProvisioningRecordId"] == record["RecordId"]
    outputs, _ = all_outputs(client, record["RecordId"])
    assert outputs[0]["OutputValue"] == "https://v2"


@pytest.mark.parametrize("status", ["TAINTED", "ERROR"])
def test_succeeded_record_can_leave_product_unhealthy(sc: ServiceCatalogEmulator, client: Any, status: str) -> None:
    script = ProvisioningScript(product_status_after_success=status, product_status_message="drifted")  # type: ignore[arg-type]
    product = sc.add_product("p", script)
    plan = create_plan(client, product.id, product.artifact_id("v1"), "odd")
    record = client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="t")["RecordDetail"]

    assert record_status(client, record["RecordId"]) == "SUCCEEDED"
    detail = product_detail(client, plan["ProvisionProductId"])
    assert (detail["Status"], detail["StatusMessage"]) == (status, "drifted")


def test_script_plan_overrides_one_plan(sc: ServiceCatalogEmulator, client: Any) -> None:
    product = sc.add_product("p")
    plan = create_plan(client, product.id, product.artifact_id("v1"), "one")
    sc.script_plan(plan["PlanId"], ProvisioningScript(errors=[RecordError("X", "scripted per plan")]))
    record = client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="t")["RecordDetail"]
    assert client.describe_record(Id=record["RecordId"])["RecordDetail"]["RecordErrors"][0]["Code"] == "X"


def test_scripted_resource_changes_must_fit_the_model(sc: ServiceCatalogEmulator) -> None:
    with pytest.raises(ValueError, match="enum"):
        sc.add_product("p", ProvisioningScript(resource_changes=[{"Action": "DESTROY"}]))


def test_time_scale_shrinks_scripted_durations(clock: ManualClock) -> None:
    with ServiceCatalogEmulator(clock=clock, time_scale=0.01, rules=ServiceRules.lenient()) as sc:
        product = sc.add_product("p", ProvisioningScript(plan_duration=100, duration=600))
        plan = sc.create_plan(product.id, product.artifact_id("v1"), "scaled")
        clock.advance(1)
        assert sc.plan(plan.id).status == "CREATE_SUCCESS"
        record = sc.state.execute_plan(plan.id, "t")
        clock.advance(5.9)
        assert sc.record(record.id).status == "IN_PROGRESS"
        clock.advance(0.2)
        assert sc.record(record.id).status == "SUCCEEDED"


# --------------------------------------------------------------------------- terminate


def test_terminate_lifecycle_and_token_idempotency(sc: ServiceCatalogEmulator, client: Any, clock: ManualClock) -> None:
    product = sc.add_product("p", ProvisioningScript(terminate_duration=4))
    existing = sc.provision(product.id, product.artifact_id("v1"), "gone-soon")

    first = client.terminate_provisioned_product(ProvisionedProductName="gone-soon", TerminateToken="del-1")
    again = client.terminate_provisioned_product(ProvisionedProductId=existing.id, TerminateToken="del-1")
    record = first["RecordDetail"]
    assert record["RecordType"] == "TERMINATE_PROVISIONED_PRODUCT"
    assert again["RecordDetail"]["RecordId"] == record["RecordId"]
    assert product_detail(client, existing.id)["Status"] == "UNDER_CHANGE"
    with pytest.raises(client.exceptions.InvalidStateException):
        client.terminate_provisioned_product(ProvisionedProductId=existing.id, TerminateToken="del-2")

    clock.advance(1)
    assert record_status(client, record["RecordId"]) == "IN_PROGRESS"
    clock.advance(3)
    assert record_status(client, record["RecordId"]) == "SUCCEEDED"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_provisioned_product(Id=existing.id)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_provisioned_product(Name="gone-soon")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.terminate_provisioned_product(ProvisionedProductId=existing.id, TerminateToken="del-1")
    assert sc.provisioned_product(existing.id).terminated


def test_terminate_failure_and_ignore_errors(sc: ServiceCatalogEmulator, client: Any) -> None:
    product = sc.add_product("p", ProvisioningScript(terminate_errors=[RecordError("DELETE_FAILED", "in use")]))
    existing = sc.provision(product.id, product.artifact_id("v1"), "sticky")

    failed = client.terminate_provisioned_product(ProvisionedProductId=existing.id, TerminateToken="a")
    assert record_status(client, failed["RecordDetail"]["RecordId"]) == "FAILED"
    assert product_detail(client, existing.id)["Status"] == "ERROR"

    forced = client.terminate_provisioned_product(
        ProvisionedProductId=existing.id, TerminateToken="b", IgnoreErrors=True
    )
    assert record_status(client, forced["RecordDetail"]["RecordId"]) == "SUCCEEDED"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_provisioned_product(Id=existing.id)


def test_execute_while_product_under_change_is_invalid_state(sc: ServiceCatalogEmulator, client: Any) -> None:
    product = sc.add_product("p", ProvisioningScript(duration=10, terminate_duration=10))
    existing = sc.provision(product.id, product.artifact_id("v1"), "busy")
    changed = [{"Key": "Size", "Value": "2"}]  # a plan with the product's own version would fail: no changes
    plan = create_plan(client, product.id, product.artifact_id("v1"), "busy", ProvisioningParameters=changed)
    assert plan_status(client, plan["PlanId"]) == "CREATE_SUCCESS"
    client.terminate_provisioned_product(ProvisionedProductId=existing.id, TerminateToken="a")
    with pytest.raises(client.exceptions.InvalidStateException):
        client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="t")


# --------------------------------------------------------------------------- plans: paging, list, delete


def test_resource_changes_are_paged(sc: ServiceCatalogEmulator, client: Any) -> None:
    changes = [
        {
            "Action": "ADD",
            "LogicalResourceId": f"R{i}",
            "ResourceType": "AWS::S3::Bucket",
            "Replacement": "FALSE",
        }
        for i in range(45)
    ]
    product = sc.add_product("p", ProvisioningScript(resource_changes=changes))
    plan = create_plan(client, product.id, product.artifact_id("v1"), "many")

    seen, sizes, kwargs = [], [], {"PlanId": plan["PlanId"], "PageSize": 20}
    while True:
        page = client.describe_provisioned_product_plan(**kwargs)
        seen += [c["LogicalResourceId"] for c in page["ResourceChanges"]]
        sizes.append(len(page["ResourceChanges"]))
        if "NextPageToken" not in page:
            break
        kwargs["PageToken"] = page["NextPageToken"]
    assert sizes == [20, 20, 5]
    assert seen == [f"R{i}" for i in range(45)]
    with pytest.raises(client.exceptions.InvalidParametersException):
        client.describe_provisioned_product_plan(PlanId=plan["PlanId"], PageToken="garbage")


def test_list_and_delete_plans(sc: ServiceCatalogEmulator, client: Any) -> None:
    product = sc.add_product("p")
    plans = [create_plan(client, product.id, product.artifact_id("v1"), f"app-{i}") for i in range(3)]

    first = client.list_provisioned_product_plans(PageSize=2)
    second = client.list_provisioned_product_plans(PageSize=2, PageToken=first["NextPageToken"])
    listed = first["ProvisionedProductPlans"] + second["ProvisionedProductPlans"]
    assert [p["PlanId"] for p in listed] == [p["PlanId"] for p in plans]
    assert "NextPageToken" not in second
    only = client.list_provisioned_product_plans(ProvisionProductId=plans[1]["ProvisionProductId"])
    assert [p["PlanId"] for p in only["ProvisionedProductPlans"]] == [plans[1]["PlanId"]]

    client.delete_provisioned_product_plan(PlanId=plans[0]["PlanId"])
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_provisioned_product_plan(PlanId=plans[0]["PlanId"])
    # The never-executed product existed only for that plan and goes with it.
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_provisioned_product(Id=plans[0]["ProvisionProductId"])
    assert len(client.list_provisioned_product_plans()["ProvisionedProductPlans"]) == 2


# --------------------------------------------------------------------------- faults and validation


def test_standard_retries_survive_every_second_call_throttled(sc: ServiceCatalogEmulator) -> None:
    sc.inject_throttling(every=2)
    patient = sc.client(retries={"mode": "standard", "max_attempts": 3})
    for _ in range(3):
        patient.list_provisioned_product_plans()
    throttled = [c for c in sc.calls if c.throttled]
    assert len(throttled) >= 2
    assert all(c.error_code == "ThrottlingException" for c in throttled)


def test_single_attempt_client_sees_throttling(sc: ServiceCatalogEmulator) -> None:
    # botocore's retries "max_attempts" counts retries; "total_max_attempts" counts the first try too.
    single = sc.client(retries={"mode": "standard", "total_max_attempts": 1})
    sc.inject_throttling(every=2)
    single.list_provisioned_product_plans()
    with pytest.raises(ClientError) as excinfo:
        single.list_provisioned_product_plans()
    assert error_code(excinfo) == "ThrottlingException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert [c.throttled for c in sc.calls] == [False, True]


def test_throttling_can_target_operations(sc: ServiceCatalogEmulator, client: Any) -> None:
    sc.inject_throttling(every=1, operations=["DescribeRecord"])
    client.list_provisioned_product_plans()  # not a throttled operation
    with pytest.raises(ClientError) as excinfo:
        client.describe_record(Id="rec-whatever")
    assert error_code(excinfo) == "ThrottlingException"
    sc.inject_throttling(every=0)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_record(Id="rec-whatever")


@pytest.mark.parametrize(
    ("operation", "params", "fragment"),
    [
        ("ExecuteProvisionedProductPlan", {"IdempotencyToken": "tok"}, "PlanId"),
        (
            "ExecuteProvisionedProductPlan",
            {"PlanId": "p", "IdempotencyToken": "-starts-with-dash"},
            "pattern",
        ),
        ("ExecuteProvisionedProductPlan", {"PlanId": "p", "IdempotencyToken": "has space"}, "pattern"),
        ("ExecuteProvisionedProductPlan", {"PlanId": "x" * 101, "IdempotencyToken": "tok"}, "length"),
        ("ExecuteProvisionedProductPlan", {"PlanId": "bad/id", "IdempotencyToken": "tok"}, "pattern"),
        ("ExecuteProvisionedProductPlan", {"PlanId": "p", "IdempotencyToken": 7}, "string"),
        ("DescribeRecord", {"Id": "rec-1", "PageSize": 21}, "less than or equal to 20"),
        ("DescribeRecord", {"Id": "rec-1", "PageSize": -1}, "greater than or equal to 0"),
        ("DescribeRecord", {"Id": "rec-1", "PageSize": "5"}, "integer"),
        ("DescribeRecord", {"Id": ""}, "length"),
        (
            "CreateProvisionedProductPlan",
            {
                "PlanName": "n",
                "PlanType": "TERRAFORM",
                "ProductId": "prod-1",
                "ProvisionedProductName": "pp",
                "ProvisioningArtifactId": "pa-1",
                "IdempotencyToken": "tok",
            },
            "enum",
        ),
        (
            "CreateProvisionedProductPlan",
            {
                "PlanName": "n",
                "PlanType": "CLOUDFORMATION",
                "ProductId": "prod-1",
                "ProvisionedProductName": "pp",
                "ProvisioningArtifactId": "pa-1",
                "IdempotencyToken": "tok",
                "Tags": [{"Key": "k", "Value": "bad#value"}],
            },
            "Tags.1.Value",
        ),
        ("DescribeProvisionedProduct", {}, "not both"),
        ("DescribeProvisionedProduct", {"Id": "pp-1", "Name": "n"}, "not both"),
        (
            "TerminateProvisionedProduct",
            {"ProvisionedProductId": "pp-1", "TerminateToken": "t", "IgnoreErrors": "yes"},
            "boolean",
        ),
        ("ListProvisionedProductPlans", {"AccessLevelFilter": {"Key": "Everyone"}}, "enum"),
    ],
)
def test_server_validates_input_independently_of_botocore(
    sc: ServiceCatalogEmulator, operation: str, params: dict[str, Any], fragment: str
) -> None:
    status, body = raw_post(sc.endpoint_url, operation, json.dumps(params).encode())
    assert status == 400
    assert body["__type"] == "InvalidParametersException"
    assert fragment in body["message"]


def test_protocol_errors(sc: ServiceCatalogEmulator) -> None:
    assert raw_post(sc.endpoint_url, "SearchProducts", b"{}")[1]["__type"] == "UnknownOperationException"
    assert raw_post(sc.endpoint_url, "NoSuchThing", b"{}")[1]["__type"] == "UnknownOperationException"
    assert raw_post(sc.endpoint_url, None, b"{}")[1]["__type"] == "UnknownOperationException"
    status, body = raw_post(sc.endpoint_url, "DescribeRecord", b"{not json")
    assert (status, body["__type"]) == (400, "SerializationException")
    assert raw_post(sc.endpoint_url, "DescribeRecord", b"[1]")[1]["__type"] == "SerializationException"


def test_unknown_operation_via_boto3(sc: ServiceCatalogEmulator, client: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        client.search_products()
    assert error_code(excinfo) == "UnknownOperationException"


# --------------------------------------------------------------------------- responses vs the model


def test_every_response_matches_botocore_output_shapes(clock: ManualClock) -> None:
    """Record every raw response of a broad scenario and validate it against its output shape."""
    bodies: list[tuple[Any, int, bytes, dict[str, Any]]] = []

    def keep(http_response: Any, model: Any, **_: Any) -> None:
        bodies.append((model, http_response.status_code, http_response.content, dict(http_response.headers)))

    with ServiceCatalogEmulator(clock=clock, rules=ServiceRules.lenient()) as sc:
        client = sc.client(retries={"mode": "standard", "total_max_attempts": 1})
        client.meta.events.register("after-call.servicecatalog", keep)
        product = sc.add_product(
            "p",
            artifacts={
                "v1": ProvisioningScript(duration=2, outputs={f"K{i}": f"v{i}" for i in range(25)}),
                "v2": ProvisioningScript(duration=2, errors=[RecordError("E", "boom")], in_error_duration=1),
            },
        )
        plan = create_plan(
            client,
            product.id,
            product.artifact_id("v1"),
            "shapes",
            PathId="lpv3-abc",
            ProvisioningParameters=[{"Key": "Size", "Value": "10"}, {"Key": "Old", "UsePreviousValue": True}],
            Tags=[{"Key": "team", "Value": "platform"}],
        )
        client.describe_provisioned_product_plan(PlanId=plan["PlanId"])
        record = client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="t1")["RecordDetail"]
        client.describe_provisioned_product(Id=plan["ProvisionProductId"])
        clock.advance(1)
        client.describe_record(Id=record["RecordId"])
        clock.advance(1)
        page = client.describe_record(Id=record["RecordId"], PageSize=10)
        client.describe_record(Id=record["RecordId"], PageSize=10, PageToken=page["NextPageToken"])
        update = create_plan(client, product.id, product.artifact_id("v2"), "shapes")
        failing = client.execute_provisioned_product_plan(PlanId=update["PlanId"], IdempotencyToken="t2")
        clock.advance(1.5)
        client.describe_record(Id=failing["RecordDetail"]["RecordId"])
        clock.advance(1)
        client.describe_record(Id=failing["RecordDetail"]["RecordId"])
        client.describe_provisioned_product(Name="shapes")
        client.list_provisioned_product_plans(PageSize=1)
        client.list_provisioned_product_plans(ProvisionProductId=plan["ProvisionProductId"])
        client.describe_provisioned_product_plan(PlanId=update["PlanId"])  # an update plan: MODIFY changes
        client.delete_provisioned_product_plan(PlanId=update["PlanId"])
        reapplied = client.update_provisioned_product(
            ProvisionedProductName="shapes",
            ProvisioningArtifactName="v1",
            PathId="lpv3-abc",
            ProvisioningParameters=[{"Key": "Size", "UsePreviousValue": True}],
            Tags=[{"Key": "team", "Value": "platform"}],
            UpdateToken="t4",
        )
        clock.advance(2)
        client.describe_record(Id=reapplied["RecordDetail"]["RecordId"])
        terminate = client.terminate_provisioned_product(
            ProvisionedProductName="shapes", TerminateToken="t3", RetainPhysicalResources=True, IgnoreErrors=True
        )
        client.describe_record(Id=terminate["RecordDetail"]["RecordId"])
        client.describe_product(Id=product.id)
        client.describe_product(Name="p", AcceptLanguage="jp")
        sc.add_tag_update_constraint(product.id)
        client.describe_provisioning_parameters(ProductName="p", ProvisioningArtifactName="v1")
        client.describe_provisioning_parameters(
            ProductId=product.id,
            ProvisioningArtifactId=product.artifact_id("v2"),
            PathId=product.path_id("p-portfolio"),
        )
        sc.seed_record_history(product.id, [30.0, 40.0], status="FAILED")
        history = client.list_record_history(PageSize=3, AccessLevelFilter={"Key": "Account", "Value": "self"})
        client.list_record_history(PageSize=3, PageToken=history["NextPageToken"])
        client.list_record_history(SearchFilter={"Key": "provisionedproduct", "Value": plan["ProvisionProductId"]})
        client.list_record_history(SearchFilter={"Key": "product", "Value": product.id})
        failing_calls: list[Callable[[], object]] = [
            lambda: client.describe_record(Id="rec-missing"),
            lambda: client.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken="t9"),
            lambda: client.describe_provisioned_product(Id=plan["ProvisionProductId"]),
            lambda: client.update_provisioned_product(ProvisionedProductId="pp-missing", UpdateToken="t5"),
            lambda: client.update_provisioned_product(UpdateToken="t5"),
            lambda: client.list_record_history(SearchFilter={"Key": "stack", "Value": "x"}),
            lambda: client.describe_product(Name="no such product"),
            lambda: client.describe_product(Id=product.id, Name="p"),
            lambda: client.describe_provisioning_parameters(ProductId=product.id, ProvisioningArtifactName="v9"),
        ]
        for call in failing_calls:
            with pytest.raises(ClientError):
                call()
        sc.inject_throttling(every=1)
        with pytest.raises(ClientError):
            client.list_provisioned_product_plans()

    operations = {model.name for model, *_ in bodies}
    assert operations == {
        "CreateProvisionedProductPlan",
        "DescribeProvisionedProductPlan",
        "ExecuteProvisionedProductPlan",
        "DescribeProvisionedProduct",
        "DescribeRecord",
        "ListProvisionedProductPlans",
        "DeleteProvisionedProductPlan",
        "TerminateProvisionedProduct",
        "UpdateProvisionedProduct",
        "ListRecordHistory",
        "DescribeProduct",
        "DescribeProvisioningParameters",
    }
    parser = create_parser("json")
    for model, status, content, headers in bodies:
        assert headers["Content-Type"] == "application/x-amz-json-1.1"
        assert headers.get("x-amzn-RequestId")
        raw = json.loads(content)
        if status != 200:
            assert status == 400
            assert set(raw) == {"__type", "message"}
            known = {shape.name for shape in model.error_shapes} | {"ThrottlingException"}
            assert raw["__type"] in known, (model.name, raw)
            continue
        assert validate_output(model, raw) == [], (model.name, raw)
        parsed = parser.parse({"status_code": status, "headers": headers, "body": content}, model.output_shape)
        parsed.pop("ResponseMetadata", None)
        report = ParamValidator().validate(parsed, model.output_shape)
        assert not report.has_errors(), (model.name, report.generate_report())


# --------------------------------------------------------------------------- concurrency


def test_fifty_concurrent_clients(sc: ServiceCatalogEmulator) -> None:
    product = sc.add_product("p", ProvisioningScript(outputs={"Out": "v"}))
    failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            own = sc.client(retries={"mode": "standard", "total_max_attempts": 1})
            plan = create_plan(own, product.id, product.artifact_id("v1"), f"app-{index}")
            token = f"tok-{index}"
            record = own.execute_provisioned_product_plan(PlanId=plan["PlanId"], IdempotencyToken=token)
            assert record_status(own, record["RecordDetail"]["RecordId"]) == "SUCCEEDED"
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert len(sc.calls_to("ExecuteProvisionedProductPlan")) == 50
    assert {p.status for p in sc.provisioned_products()} == {"AVAILABLE"}


def test_environment_points_default_clients_at_the_emulator(sc: ServiceCatalogEmulator) -> None:
    with sc.environment():
        boto3.client("servicecatalog").list_provisioned_product_plans()
    assert [c.operation for c in sc.calls] == ["ListProvisionedProductPlans"]
