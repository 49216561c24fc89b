"""The real service's stricter rules (local_cloud/servicecatalog/rules.py), through unmodified boto3.

Every test names the profile it plays: ``ServiceRules.real()`` or a variant of it with one
uncertain answer changed (parametrized over the answers), or ``ServiceRules.lenient()`` where the
point is that the old behaviour is still there.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.parsers import create_parser
from botocore.validate import ParamValidator

from local_cloud.cloud import LocalCloud
from local_cloud.servicecatalog import (
    NO_CHANGES_MESSAGE,
    NO_UPDATES_MESSAGE,
    PROFILE_ENV_VAR,
    InvalidStateException,
    ProvisioningScript,
    RecordError,
    SeededProduct,
    ServiceCatalogEmulator,
    ServiceRules,
    validate_output,
)
from support.clock import ManualClock

REPO = Path(__file__).resolve().parents[2]
Factory = Callable[..., tuple[ServiceCatalogEmulator, Any]]


@pytest.fixture
def make(clock: ManualClock) -> Iterator[Factory]:
    """Start an emulator on the manual clock with the given rules (real() unless told otherwise)."""
    with ExitStack() as stack:

        def start(rules: ServiceRules | None = None, **changes: Any) -> tuple[ServiceCatalogEmulator, Any]:
            chosen = dataclasses.replace(rules or ServiceRules.real(), **changes)
            sc = stack.enter_context(ServiceCatalogEmulator(clock=clock, rules=chosen))
            return sc, sc.client(retries={"mode": "standard", "total_max_attempts": 1})

        yield start


def code_of(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def message_of(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Message"])


def eventually(call: Callable[..., Any], **kwargs: Any) -> Any:
    """Call until it stops answering ResourceNotFoundException, as a careful caller retries."""
    for _ in range(10):
        try:
            return call(**kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
    raise AssertionError("still not found after 10 reads")


def not_found_then(call: Callable[..., Any], **kwargs: Any) -> tuple[int, Any]:
    """How many ResourceNotFoundException answers come before the first success, and the success."""
    misses = 0
    while True:
        try:
            return misses, call(**kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException" or misses >= 10:
                raise
            misses += 1


def create_plan(client: Any, product: SeededProduct, name: str, artifact: str = "v1", **extra: Any) -> dict[str, Any]:
    response: dict[str, Any] = client.create_provisioned_product_plan(
        PlanName=f"{name}-plan",
        PlanType="CLOUDFORMATION",
        ProductId=product.id,
        ProvisionedProductName=name,
        ProvisioningArtifactId=product.artifact_id(artifact),
        **extra,
    )
    return response


def plan_details(client: Any, plan_id: str) -> dict[str, Any]:
    details: dict[str, Any] = eventually(client.describe_provisioned_product_plan, PlanId=plan_id)[
        "ProvisionedProductPlanDetails"
    ]
    return details


def product_status(client: Any, pp_id: str) -> str:
    return str(eventually(client.describe_provisioned_product, Id=pp_id)["ProvisionedProductDetail"]["Status"])


def settled_product(client: Any, pp_id: str, reads: int = 4) -> str:
    """The product's status once reads agree (past any stale view), or NOT_FOUND."""
    seen = []
    for _ in range(reads):
        try:
            seen.append(client.describe_provisioned_product(Id=pp_id)["ProvisionedProductDetail"]["Status"])
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ResourceNotFoundException"
            seen.append("NOT_FOUND")
    return str(seen[-1])


def executed(client: Any, plan_id: str, token: str = "run-1") -> dict[str, Any]:
    record: dict[str, Any] = client.execute_provisioned_product_plan(PlanId=plan_id, IdempotencyToken=token)[
        "RecordDetail"
    ]
    return record


def raw_post(endpoint: str, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        endpoint + "/",
        data=json.dumps(params).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"AWS242ServiceCatalogService.{operation}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def provisioned_web(
    sc: ServiceCatalogEmulator, script: ProvisioningScript | None = None, **artifacts: ProvisioningScript
) -> tuple[SeededProduct, str]:
    """Product "p" (v1, and any other artifacts) and "web" provisioned from v1 long ago."""
    product = sc.add_product("p", artifacts={"v1": script or ProvisioningScript(), **artifacts})
    return product, sc.provision(product.id, product.artifact_id("v1"), "web", parameters={"Size": "1"}).id


SIZE_2 = [{"Key": "Size", "Value": "2"}]


# --------------------------------------------------------------------------- profiles


def test_real_is_the_default_of_the_emulator_and_the_local_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROFILE_ENV_VAR, raising=False)
    assert ServiceCatalogEmulator().rules == ServiceRules.real()
    cloud = LocalCloud(REPO / "cdk.out")
    try:
        assert cloud.servicecatalog.rules == ServiceRules.real()
    finally:
        cloud.close()
    kind = LocalCloud(REPO / "cdk.out", sc_rules=ServiceRules.lenient())
    try:
        assert kind.servicecatalog.rules == ServiceRules.lenient()
    finally:
        kind.close()


def test_profile_file_named_by_the_environment_is_played_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "probed.json"
    path.write_text(json.dumps({"name": "probed", "rules": {"execute_refusal_error": "ValidationException"}}))
    monkeypatch.setenv(PROFILE_ENV_VAR, str(path))
    played = ServiceCatalogEmulator().rules
    assert (played.name, played.execute_refusal_error) == ("probed", "ValidationException")
    assert dataclasses.replace(played, name="real", execute_refusal_error="InvalidStateException") == (
        ServiceRules.real()
    )
    cloud = LocalCloud(REPO / "cdk.out")
    try:
        assert cloud.servicecatalog.rules == played
    finally:
        cloud.close()


@pytest.mark.parametrize(
    "rules",
    [
        ServiceRules.real(),
        ServiceRules.lenient(),
        dataclasses.replace(
            ServiceRules.real(),
            name="probed",
            no_changes_message=NO_UPDATES_MESSAGE,
            one_plan_error="InvalidParametersException",
            placeholder_after_plan_deleted="removed",
            not_found_reads=3,
            observed={"execute_again": {"code": "InvalidParametersException", "message": "m"}},
        ),
    ],
    ids=["real", "lenient", "probed"],
)
def test_profile_json_round_trip(tmp_path: Path, rules: ServiceRules) -> None:
    path = tmp_path / "profile.json"
    rules.save(path)
    loaded = ServiceRules.load(path)
    assert loaded == rules
    assert (loaded.name, dict(loaded.observed)) == (rules.name, dict(rules.observed))
    assert set(json.loads(path.read_text())["rules"]) == set(ServiceRules.rule_names())


def test_profile_file_may_give_only_some_rules_and_is_checked(tmp_path: Path) -> None:
    partial = ServiceRules.from_json({"rules": {"execute_token_replays": False}})
    assert partial == dataclasses.replace(ServiceRules.real(), name="profile", execute_token_replays=False)
    with pytest.raises(ValueError, match="unknown rules in profile: retries"):
        ServiceRules.from_json({"rules": {"retries": 3}})
    with pytest.raises(ValueError, match="execute_refusal_error must be one of"):
        ServiceRules.from_json({"rules": {"execute_refusal_error": "AccessDeniedException"}})
    with pytest.raises(ValueError, match="not_found_reads must be an integer"):
        ServiceRules.from_json({"rules": {"not_found_reads": -1}})
    with pytest.raises(ValueError, match="unknown keys"):
        ServiceRules.from_json({"profile": {}})


def test_rules_can_be_switched_while_running(make: Factory) -> None:
    sc, client = make(ServiceRules.lenient())
    product = sc.add_product("p")
    first = create_plan(client, product, "app")
    client.describe_provisioned_product_plan(PlanId=first["PlanId"])  # lenient: found at once
    sc.rules = ServiceRules.real()
    second = create_plan(client, product, "other")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_provisioned_product_plan(PlanId=second["PlanId"])
    with pytest.raises(ClientError) as excinfo:
        create_plan(client, product, "app")  # real: one plan per provisioned product
    assert code_of(excinfo) == "InvalidStateException"


# --------------------------------------------------------------------------- 1. no-change plans


@pytest.mark.parametrize("message", [NO_CHANGES_MESSAGE, NO_UPDATES_MESSAGE])
def test_plan_with_nothing_to_change_fails_with_the_profiles_message(make: Factory, message: str) -> None:
    sc, client = make(no_changes_message=message)
    product, pp_id = provisioned_web(sc)
    plan = create_plan(client, product, "web", ProvisioningParameters=[{"Key": "Size", "Value": "1"}])
    details = plan_details(client, plan["PlanId"])
    assert (details["Status"], details["StatusMessage"]) == ("CREATE_FAILED", message)
    assert product_status(client, pp_id) == "AVAILABLE"


def test_real_no_change_message_is_the_change_sets() -> None:
    assert ServiceRules.real().no_changes_message == NO_CHANGES_MESSAGE
    with pytest.raises(ValueError, match="no_changes_message"):
        dataclasses.replace(ServiceRules.real(), no_changes_message="")


# --------------------------------------------------------------------------- 2. failed plans keep their change set


def failed_update_plan(sc: ServiceCatalogEmulator, client: Any) -> tuple[str, str]:
    broken = ProvisioningScript(errors=[RecordError("UPDATE_FAILED", "Bad property")])
    product, pp_id = provisioned_web(sc, v2=broken)
    plan = create_plan(client, product, "web", "v2")
    record = executed(client, plan["PlanId"])
    assert eventually(client.describe_record, Id=record["RecordId"])["RecordDetail"]["Status"] == "FAILED"
    assert sc.plan(plan["PlanId"]).status == "EXECUTE_FAILED"
    return plan["PlanId"], pp_id


def test_execute_failed_plan_is_deleted_only_with_ignore_errors(make: Factory) -> None:
    sc, client = make()
    plan_id, pp_id = failed_update_plan(sc, client)

    with pytest.raises(ClientError) as excinfo:
        client.delete_provisioned_product_plan(PlanId=plan_id)
    assert code_of(excinfo) == "ValidationException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert message_of(excinfo).startswith(
        "Cannot delete ChangeSet in execution status EXECUTE_FAILED (Service: AmazonCloudFormation; "
        "Status Code: 400; Error Code: InvalidChangeSetStatus; Request ID: "
    )
    assert sc.plan(plan_id).status == "EXECUTE_FAILED"

    client.delete_provisioned_product_plan(PlanId=plan_id, IgnoreErrors=True)
    assert sc.deleted_plans() == [plan_id]
    assert settled_product(client, pp_id) == "TAINTED"


def test_execute_failed_plan_deletes_plainly_when_the_rule_is_off(make: Factory) -> None:
    sc, client = make(failed_plan_delete_needs_ignore_errors=False)
    plan_id, _ = failed_update_plan(sc, client)
    client.delete_provisioned_product_plan(PlanId=plan_id)
    assert sc.deleted_plans() == [plan_id]


def test_other_finished_plans_delete_without_ignore_errors(make: Factory) -> None:
    sc, client = make()
    product, _ = provisioned_web(sc, v2=ProvisioningScript())
    plan = create_plan(client, product, "web", "v2")
    executed(client, plan["PlanId"])
    client.delete_provisioned_product_plan(PlanId=plan["PlanId"])  # EXECUTE_SUCCESS
    failed = create_plan(client, product, "web", "v2")  # nothing to change now: CREATE_FAILED
    assert plan_details(client, failed["PlanId"])["Status"] == "CREATE_FAILED"
    client.delete_provisioned_product_plan(PlanId=failed["PlanId"])
    assert sc.deleted_plans() == [plan["PlanId"], failed["PlanId"]]


# --------------------------------------------------------------------------- 3. one plan per provisioned product


@pytest.mark.parametrize("code", ["InvalidStateException", "InvalidParametersException", "ResourceNotFoundException"])
def test_second_plan_for_a_product_is_refused_with_the_profiles_code(make: Factory, code: str) -> None:
    sc, client = make(one_plan_error=code)
    product, pp_id = provisioned_web(sc, v2=ProvisioningScript())
    first = create_plan(client, product, "web", "v2")
    with pytest.raises(ClientError) as excinfo:
        create_plan(client, product, "web", "v2", ProvisioningParameters=SIZE_2)
    assert code_of(excinfo) == code
    assert first["PlanId"] in message_of(excinfo)
    assert [p.id for p in sc.plans()] == [first["PlanId"]]

    client.delete_provisioned_product_plan(PlanId=first["PlanId"])
    second = create_plan(client, product, "web", "v2", ProvisioningParameters=SIZE_2)
    assert second["ProvisionProductId"] == pp_id


@pytest.mark.parametrize("executed_plans_count", [True, False])
def test_executed_plan_blocks_the_next_plan_if_the_profile_says_so(make: Factory, executed_plans_count: bool) -> None:
    sc, client = make(executed_plans_count=executed_plans_count)
    product, _ = provisioned_web(sc, v2=ProvisioningScript())
    first = create_plan(client, product, "web", "v2")
    executed(client, first["PlanId"])
    assert sc.plan(first["PlanId"]).status == "EXECUTE_SUCCESS"

    if executed_plans_count:
        with pytest.raises(ClientError) as excinfo:
            create_plan(client, product, "web", "v2", ProvisioningParameters=SIZE_2)
        assert code_of(excinfo) == "InvalidStateException"
        client.delete_provisioned_product_plan(PlanId=first["PlanId"])
    second = create_plan(client, product, "web", "v2", ProvisioningParameters=SIZE_2)
    assert plan_details(client, second["PlanId"])["Status"] == "CREATE_SUCCESS"


def test_a_new_name_can_be_planned_once(make: Factory) -> None:
    sc, client = make()
    product = sc.add_product("p")
    first = create_plan(client, product, "fresh")
    assert first["ProvisionProductId"].startswith("pp-")
    with pytest.raises(ClientError) as excinfo:
        create_plan(client, product, "fresh", ProvisioningParameters=SIZE_2)
    assert code_of(excinfo) == "InvalidStateException"


@pytest.mark.parametrize("needs_available", [True, False])
def test_product_under_change_cannot_be_planned(make: Factory, needs_available: bool) -> None:
    sc, client = make(plan_needs_available_product=needs_available)
    product, pp_id = provisioned_web(sc, ProvisioningScript(duration=10), v2=ProvisioningScript())

    client.update_provisioned_product(ProvisionedProductId=pp_id, UpdateToken="u1")  # UNDER_CHANGE for 10 s
    if not needs_available:
        assert create_plan(client, product, "web", "v2")["ProvisionProductId"] == pp_id
        return
    with pytest.raises(ClientError) as excinfo:
        create_plan(client, product, "web", "v2")
    assert code_of(excinfo) == "InvalidStateException"
    assert "must be AVAILABLE or TAINTED" in message_of(excinfo)


def test_tainted_may_be_planned_and_error_may_not(make: Factory, clock: ManualClock) -> None:
    sc, client = make()
    failing = ProvisioningScript(errors=[RecordError("UPDATE_FAILED", "Bad property")])
    product, pp_id = provisioned_web(sc, v2=failing)
    client.update_provisioned_product(ProvisionedProductId=pp_id, ProvisioningArtifactName="v2", UpdateToken="u1")
    assert settled_product(client, pp_id) == "TAINTED"
    plan = create_plan(client, product, "web", ProvisioningParameters=SIZE_2)
    assert plan["ProvisionProductId"] == pp_id

    doomed = sc.add_product("doomed", ProvisioningScript(errors=[RecordError("CREATE_FAILED", "no")]))
    first = create_plan(client, doomed, "never")
    executed(client, first["PlanId"])
    clock.advance(1)
    assert settled_product(client, first["ProvisionProductId"]) == "ERROR"
    client.delete_provisioned_product_plan(PlanId=first["PlanId"], IgnoreErrors=True)  # EXECUTE_FAILED
    with pytest.raises(ClientError) as excinfo:
        create_plan(client, doomed, "never")
    assert code_of(excinfo) == "InvalidStateException"


def test_lenient_allows_any_number_of_plans(make: Factory) -> None:
    sc, client = make(ServiceRules.lenient())
    product, pp_id = provisioned_web(sc, v2=ProvisioningScript())
    first = create_plan(client, product, "web", "v2")
    executed(client, first["PlanId"])
    second = create_plan(client, product, "web", "v2", ProvisioningParameters=SIZE_2)
    third = create_plan(client, product, "web", "v1", ProvisioningParameters=SIZE_2)
    assert {second["ProvisionProductId"], third["ProvisionProductId"]} == {pp_id}


def test_seeding_helper_obeys_the_one_plan_rule(make: Factory) -> None:
    sc, client = make()
    product, pp_id = provisioned_web(sc, v2=ProvisioningScript())
    first = sc.create_plan(product.id, product.artifact_id("v2"), "web")
    sc.state.execute_plan(first.id, "t")
    with pytest.raises(InvalidStateException, match="you can create one plan for each provisioned product"):
        sc.create_plan(product.id, product.artifact_id("v2"), "web")
    client.delete_provisioned_product_plan(PlanId=first.id)
    assert sc.create_plan(product.id, product.artifact_id("v2"), "web").provisioned_product_id == pp_id


# --------------------------------------------------------------------------- 4. executing a plan not CREATE_SUCCESS


EXECUTE_CODES = [
    "InvalidStateException",
    "InvalidParametersException",
    "ResourceNotFoundException",
    "ValidationException",
]


@pytest.mark.parametrize("code", EXECUTE_CODES)
def test_executing_an_executed_plan_is_refused_with_the_profiles_code(make: Factory, code: str) -> None:
    sc, client = make(execute_refusal_error=code)
    product = sc.add_product("p", artifacts={"v1": ProvisioningScript(), "bad": ProvisioningScript(plan_failure="x")})
    plan = create_plan(client, product, "app")
    first = executed(client, plan["PlanId"])
    with pytest.raises(ClientError) as excinfo:
        executed(client, plan["PlanId"], token="run-2")
    assert code_of(excinfo) == code
    assert plan["PlanId"] in message_of(excinfo)
    assert [r.id for r in sc.records()] == [first["RecordId"]]

    failed = create_plan(client, product, "other", "bad")
    assert plan_details(client, failed["PlanId"])["Status"] == "CREATE_FAILED"
    with pytest.raises(ClientError) as excinfo:
        executed(client, failed["PlanId"])
    assert code_of(excinfo) == code


def test_validation_exception_refusal_reads_like_cloudformations(make: Factory) -> None:
    sc, client = make(execute_refusal_error="ValidationException")
    product = sc.add_product("p")
    plan = create_plan(client, product, "app")
    executed(client, plan["PlanId"])
    with pytest.raises(ClientError) as excinfo:
        executed(client, plan["PlanId"], token="run-2")
    assert "cannot be executed in its current status of [EXECUTE_SUCCESS]" in message_of(excinfo)
    assert "Error Code: InvalidChangeSetStatus" in message_of(excinfo)


@pytest.mark.parametrize("replays", [True, False])
def test_repeated_execute_token_replays_or_is_refused(make: Factory, clock: ManualClock, replays: bool) -> None:
    sc, client = make(execute_token_replays=replays)
    product = sc.add_product("p", ProvisioningScript(duration=10))
    plan = create_plan(client, product, "app")
    first = executed(client, plan["PlanId"])
    clock.advance(11)
    if replays:
        again = executed(client, plan["PlanId"])
        assert (again["RecordId"], again["Status"]) == (first["RecordId"], "SUCCEEDED")
    else:
        with pytest.raises(ClientError) as excinfo:
            executed(client, plan["PlanId"])
        assert code_of(excinfo) == "InvalidStateException"
    assert len(sc.records()) == 1


# --------------------------------------------------------------------------- 5. placeholder products


def test_placeholder_is_removed_with_its_only_plan(make: Factory) -> None:
    sc, client = make(placeholder_after_plan_deleted="removed")
    product = sc.add_product("p")
    plan = create_plan(client, product, "fresh")
    pp_id = plan["ProvisionProductId"]
    assert product_status(client, pp_id) == "PLAN_IN_PROGRESS"
    client.delete_provisioned_product_plan(PlanId=plan["PlanId"])
    assert settled_product(client, pp_id) == "NOT_FOUND"
    assert sc.provisioned_product(pp_id).terminated
    again = create_plan(client, product, "fresh")
    assert again["ProvisionProductId"] != pp_id


def test_kept_placeholder_stays_is_planned_again_and_terminates_at_once(make: Factory) -> None:
    slow_teardown = ProvisioningScript(terminate_duration=100, terminate_errors=[RecordError("DELETE_FAILED", "x")])
    sc, client = make(placeholder_after_plan_deleted="kept")
    product = sc.add_product("p", slow_teardown)
    plan = create_plan(client, product, "fresh")
    pp_id = plan["ProvisionProductId"]
    client.delete_provisioned_product_plan(PlanId=plan["PlanId"])
    assert settled_product(client, pp_id) == "PLAN_IN_PROGRESS"

    again = create_plan(client, product, "fresh")
    assert again["ProvisionProductId"] == pp_id
    changes = eventually(client.describe_provisioned_product_plan, PlanId=again["PlanId"])["ResourceChanges"]
    assert [c["Action"] for c in changes] == ["ADD"]  # still a plan for a new product
    client.delete_provisioned_product_plan(PlanId=again["PlanId"])

    record = client.terminate_provisioned_product(ProvisionedProductId=pp_id, TerminateToken="t")["RecordDetail"]
    assert eventually(client.describe_record, Id=record["RecordId"])["RecordDetail"]["Status"] == "SUCCEEDED"
    assert settled_product(client, pp_id) == "NOT_FOUND"
    assert sc.provisioned_products() == []


@pytest.mark.parametrize("status", ["ERROR", "PLAN_IN_PROGRESS"])
@pytest.mark.parametrize("fate", ["removed", "kept"])
def test_placeholder_after_a_failed_new_product_plan(make: Factory, status: str, fate: str) -> None:
    sc, client = make(placeholder_status_after_failed_plan=status, placeholder_after_failed_plan_deleted=fate)
    product = sc.add_product("p", ProvisioningScript(plan_failure="Template format error"))
    plan = create_plan(client, product, "fresh")
    assert plan_details(client, plan["PlanId"])["Status"] == "CREATE_FAILED"
    assert settled_product(client, plan["ProvisionProductId"]) == status
    client.delete_provisioned_product_plan(PlanId=plan["PlanId"])
    assert settled_product(client, plan["ProvisionProductId"]) == (status if fate == "kept" else "NOT_FOUND")


def test_lenient_placeholder_behaves_as_before(make: Factory) -> None:
    sc, client = make(ServiceRules.lenient())
    product = sc.add_product("p", ProvisioningScript(plan_failure="Template format error"))
    plan = create_plan(client, product, "fresh")
    detail = client.describe_provisioned_product(Id=plan["ProvisionProductId"])["ProvisionedProductDetail"]
    assert (detail["Status"], detail["StatusMessage"]) == ("ERROR", "Template format error")
    client.delete_provisioned_product_plan(PlanId=plan["PlanId"])
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_provisioned_product(Id=plan["ProvisionProductId"])


# --------------------------------------------------------------------------- 6. eventual consistency


@pytest.mark.parametrize("reads", [1, 3])
def test_new_plan_product_and_record_are_not_found_at_first(make: Factory, reads: int) -> None:
    sc, client = make(not_found_reads=reads)
    product = sc.add_product("p", ProvisioningScript(outputs={"Url": "u"}))
    plan = create_plan(client, product, "fresh")

    misses, _ = not_found_then(client.describe_provisioned_product_plan, PlanId=plan["PlanId"])
    assert misses == reads
    misses, _ = not_found_then(client.describe_provisioned_product, Name="fresh")  # by name: the same product
    assert misses == reads
    client.describe_provisioned_product(Id=plan["ProvisionProductId"])
    record = executed(client, plan["PlanId"])
    misses, found = not_found_then(client.describe_record, Id=record["RecordId"])
    assert (misses, found["RecordOutputs"][0]["OutputValue"]) == (reads, "u")
    assert sc.record(record["RecordId"]).status == "SUCCEEDED"  # the facade sees the truth at once


def test_new_plan_is_left_out_of_lists_at_first(make: Factory) -> None:
    sc, client = make()
    product = sc.add_product("p")
    plan = create_plan(client, product, "fresh")
    pp_id = plan["ProvisionProductId"]
    assert client.list_provisioned_product_plans(ProvisionProductId=pp_id)["ProvisionedProductPlans"] == []
    listed = client.list_provisioned_product_plans(ProvisionProductId=pp_id)["ProvisionedProductPlans"]
    assert [p["PlanId"] for p in listed] == [plan["PlanId"]]
    client.describe_provisioned_product_plan(PlanId=plan["PlanId"])  # the list used up the plan's unseen read


def test_seeded_past_objects_are_seen_at_once(make: Factory) -> None:
    sc, client = make(not_found_reads=5)
    _, pp_id = provisioned_web(sc)
    detail = client.describe_provisioned_product(Id=pp_id)["ProvisionedProductDetail"]
    client.describe_record(Id=detail["LastRecordId"])


def test_reads_right_after_execute_show_the_old_statuses(make: Factory, clock: ManualClock) -> None:
    sc, client = make(stale_reads=2)
    product, pp_id = provisioned_web(sc, v2=ProvisioningScript(duration=10))
    plan = create_plan(client, product, "web", "v2")
    plan_details(client, plan["PlanId"])  # seen once: past its unseen read
    executed(client, plan["PlanId"])
    plan_statuses = [plan_details(client, plan["PlanId"])["Status"] for _ in range(3)]
    assert plan_statuses == ["CREATE_SUCCESS", "CREATE_SUCCESS", "EXECUTE_IN_PROGRESS"]
    product_statuses = [product_status(client, pp_id) for _ in range(3)]
    assert product_statuses == ["AVAILABLE", "AVAILABLE", "UNDER_CHANGE"]
    clock.advance(10)
    assert product_status(client, pp_id) == "AVAILABLE"


def test_reads_right_after_update_show_the_old_product(make: Factory) -> None:
    sc, client = make()
    _, pp_id = provisioned_web(sc, ProvisioningScript(duration=5))
    client.update_provisioned_product(ProvisionedProductId=pp_id, UpdateToken="u1")
    assert [product_status(client, pp_id) for _ in range(2)] == ["AVAILABLE", "UNDER_CHANGE"]


def test_terminated_product_is_still_found_once(make: Factory, clock: ManualClock) -> None:
    sc, client = make()
    _, pp_id = provisioned_web(sc, ProvisioningScript(terminate_duration=5))
    record = client.terminate_provisioned_product(ProvisionedProductName="web", TerminateToken="t")["RecordDetail"]
    assert [product_status(client, pp_id) for _ in range(2)] == ["AVAILABLE", "UNDER_CHANGE"]
    clock.advance(5)
    assert eventually(client.describe_record, Id=record["RecordId"])["RecordDetail"]["Status"] == "SUCCEEDED"
    by_name = client.describe_provisioned_product(Name="web")["ProvisionedProductDetail"]
    assert (by_name["Id"], by_name["Status"]) == (pp_id, "UNDER_CHANGE")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_provisioned_product(Id=pp_id)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_provisioned_product(Name="web")


def test_lag_free_profile_reads_the_truth_at_once(make: Factory) -> None:
    sc, client = make(not_found_reads=0, stale_reads=0)
    product = sc.add_product("p", ProvisioningScript(duration=5))
    plan = create_plan(client, product, "fresh")
    assert client.describe_provisioned_product_plan(PlanId=plan["PlanId"])["ProvisionedProductPlanDetails"]
    record = executed(client, plan["PlanId"])
    assert client.describe_record(Id=record["RecordId"])["RecordDetail"]["Status"] == "CREATED"
    assert product_status(client, plan["ProvisionProductId"]) == "UNDER_CHANGE"


def test_not_found_can_be_injected_for_the_next_calls(make: Factory) -> None:
    sc, client = make(ServiceRules.lenient())
    _, pp_id = provisioned_web(sc)
    sc.inject_not_found("DescribeProvisionedProduct", times=2)
    for _ in range(2):
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.describe_provisioned_product(Id=pp_id)
    assert product_status(client, pp_id) == "AVAILABLE"
    codes = [c.error_code for c in sc.calls_to("DescribeProvisionedProduct")]
    assert codes == ["ResourceNotFoundException", "ResourceNotFoundException", None]
    sc.inject_failure("DescribeRecord", InvalidStateException("busy"), times=1)
    with pytest.raises(client.exceptions.InvalidStateException):
        client.describe_record(Id="rec-any")
    with pytest.raises(client.exceptions.ResourceNotFoundException, match="Record rec-any not found"):
        client.describe_record(Id="rec-any")
    with pytest.raises(ValueError, match="times"):
        sc.inject_not_found("DescribeRecord", times=0)


def test_real_profile_lags_one_read_by_default() -> None:
    real = ServiceRules.real()
    assert (real.not_found_reads, real.stale_reads) == (1, 1)
    assert (ServiceRules.lenient().not_found_reads, ServiceRules.lenient().stale_reads) == (0, 0)


# --------------------------------------------------------------------------- 7. malformed input


@pytest.mark.parametrize(
    ("operation", "params", "message"),
    [
        (
            "ExecuteProvisionedProductPlan",
            {"PlanId": "bad/id", "IdempotencyToken": "tok"},
            "1 validation error detected: Value 'bad/id' at 'planId' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-]*",
        ),
        (
            "ExecuteProvisionedProductPlan",
            {"IdempotencyToken": "tok"},
            "1 validation error detected: Value null at 'planId' failed to satisfy constraint: Member must not be null",
        ),
        (
            "DescribeRecord",
            {"Id": "rec-1", "PageSize": 21},
            "1 validation error detected: Value '21' at 'pageSize' failed to satisfy constraint: "
            "Member must have value less than or equal to 20",
        ),
        (
            "ExecuteProvisionedProductPlan",
            {"PlanId": "x" * 101, "IdempotencyToken": "has space"},
            f"2 validation errors detected: Value '{'x' * 101}' at 'planId' failed to satisfy constraint: "
            "Member must have length less than or equal to 100; Value 'has space' at 'idempotencyToken' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9][a-zA-Z0-9_-]*",
        ),
        (
            "CreateProvisionedProductPlan",
            {
                "PlanName": "n",
                "PlanType": "TERRAFORM",
                "ProductId": "prod-1",
                "ProvisionedProductName": "pp",
                "ProvisioningArtifactId": "pa-1",
                "IdempotencyToken": "tok",
                "Tags": [{"Key": "k", "Value": "bad#value"}],
            },
            "2 validation errors detected: Value 'TERRAFORM' at 'planType' failed to satisfy constraint: "
            "Member must satisfy enum value set: [CLOUDFORMATION]; Value 'bad#value' at 'tags.1.member.value' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: "
            "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$",
        ),
        (
            "ListProvisionedProductPlans",
            {"AccessLevelFilter": {"Key": "Everyone", "Value": "self"}},
            "1 validation error detected: Value 'Everyone' at 'accessLevelFilter.key' failed to satisfy "
            "constraint: Member must satisfy enum value set: [Account, Role, User]",
        ),
    ],
)
def test_malformed_input_answers_validation_exception_in_aws_wording(
    make: Factory, operation: str, params: dict[str, Any], message: str
) -> None:
    sc, _ = make()
    status, body = raw_post(sc.endpoint_url, operation, params)
    assert (status, body) == (400, {"__type": "ValidationException", "message": message})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"PlanId": "p", "IdempotencyToken": 7}, "NUMBER_VALUE can not be converted to a String"),
        ({"PlanId": {"a": 1}, "IdempotencyToken": "t"}, "Start of structure or map found where not expected."),
        ({"PlanId": ["p"], "IdempotencyToken": "t"}, "Start of list found where not expected"),
    ],
)
def test_member_of_the_wrong_type_is_a_serialization_error(make: Factory, params: dict[str, Any], message: str) -> None:
    sc, _ = make()
    status, body = raw_post(sc.endpoint_url, "ExecuteProvisionedProductPlan", params)
    assert (status, body) == (400, {"__type": "SerializationException", "message": message})


def test_boto3_sees_validation_exception_for_what_it_does_not_check(make: Factory) -> None:
    _, client = make()
    with pytest.raises(ClientError) as excinfo:
        client.describe_provisioned_product_plan(PlanId="bad/id")
    assert code_of(excinfo) == "ValidationException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_operations_own_rules_stay_invalid_parameters(make: Factory) -> None:
    sc, client = make()
    with pytest.raises(client.exceptions.InvalidParametersException, match="not both"):
        client.describe_provisioned_product(Id="pp-1", Name="n")
    status, body = raw_post(sc.endpoint_url, "ListRecordHistory", {"SearchFilter": {"Key": "stack", "Value": "x"}})
    assert (status, body["__type"]) == (400, "InvalidParametersException")


def test_lenient_keeps_invalid_parameters_for_malformed_input(make: Factory) -> None:
    sc, _ = make(ServiceRules.lenient())
    status, body = raw_post(
        sc.endpoint_url, "ExecuteProvisionedProductPlan", {"PlanId": "bad/id", "IdempotencyToken": 7}
    )
    assert status == 400
    assert body["__type"] == "InvalidParametersException"
    assert body["message"].startswith("2 validation errors detected: Value 'bad/id' at 'PlanId' failed")


# --------------------------------------------------------------------------- 8. portfolio access


@pytest.mark.parametrize("rules", [ServiceRules.real(), ServiceRules.lenient()], ids=["real", "lenient"])
def test_caller_without_portfolio_access_finds_no_launch_path(make: Factory, rules: ServiceRules) -> None:
    sc, client = make(rules)
    product, pp_id = provisioned_web(sc, v2=ProvisioningScript())
    ready = create_plan(client, product, "web", "v2")
    sc.revoke_launch_access(product.id)
    expected = f"No launch paths found for resource: {product.id}"

    calls: list[Callable[[], object]] = [
        lambda: create_plan(client, product, "other"),
        lambda: executed(client, ready["PlanId"]),
        lambda: client.update_provisioned_product(ProvisionedProductId=pp_id, UpdateToken="u1"),
    ]
    for call in calls:
        with pytest.raises(client.exceptions.ResourceNotFoundException) as excinfo:
            call()
        assert message_of(excinfo) == expected
    with pytest.raises(Exception, match=expected):
        sc.create_plan(product.id, product.artifact_id("v1"), "seeded")
    assert product_status(client, pp_id) == "AVAILABLE"  # reading is not launching

    sc.grant_launch_access(product.id)
    executed(client, ready["PlanId"])
    with pytest.raises(ValueError, match="not a product"):
        sc.revoke_launch_access("prod-missing")


# --------------------------------------------------------------------------- ListProvisionedProductPlans


def test_list_plans_filters_by_product_pages_and_honours_access_level(make: Factory) -> None:
    sc, client = make(not_found_reads=0)
    product = sc.add_product("p")
    mine = [create_plan(client, product, f"app-{i}") for i in range(3)]
    theirs = sc.create_plan(product.id, product.artifact_id("v1"), "pipeline-app", created_by_caller=False)

    first = client.list_provisioned_product_plans(PageSize=2)
    second = client.list_provisioned_product_plans(PageSize=2, PageToken=first["NextPageToken"])
    assert [p["PlanId"] for p in first["ProvisionedProductPlans"] + second["ProvisionedProductPlans"]] == [
        p["PlanId"] for p in mine
    ]
    assert "NextPageToken" not in second
    everyone = client.list_provisioned_product_plans(AccessLevelFilter={"Key": "Account", "Value": "self"})
    assert [p["PlanId"] for p in everyone["ProvisionedProductPlans"]][-1] == theirs.id
    only = client.list_provisioned_product_plans(
        ProvisionProductId=theirs.provisioned_product_id, AccessLevelFilter={"Key": "Account", "Value": "self"}
    )
    assert only["ProvisionedProductPlans"] == [
        {
            "PlanName": "pipeline-app-plan",
            "PlanId": theirs.id,
            "ProvisionProductId": theirs.provisioned_product_id,
            "ProvisionProductName": "pipeline-app",
            "PlanType": "CLOUDFORMATION",
            "ProvisioningArtifactId": product.artifact_id("v1"),
        }
    ]
    user = client.list_provisioned_product_plans(
        ProvisionProductId=theirs.provisioned_product_id, AccessLevelFilter={"Key": "User", "Value": "self"}
    )
    assert user["ProvisionedProductPlans"] == []
    with pytest.raises(client.exceptions.InvalidParametersException, match="use 'self'"):
        client.list_provisioned_product_plans(AccessLevelFilter={"Key": "User", "Value": "someone"})


# --------------------------------------------------------------------------- responses vs the model


def test_every_response_under_the_real_profile_matches_botocores_shapes(make: Factory, clock: ManualClock) -> None:
    bodies: list[tuple[Any, int, bytes, dict[str, Any]]] = []

    def keep(http_response: Any, model: Any, **_: Any) -> None:
        bodies.append((model, http_response.status_code, http_response.content, dict(http_response.headers)))

    sc, client = make()
    client.meta.events.register("after-call.servicecatalog", keep)
    failing = ProvisioningScript(duration=2, errors=[RecordError("UPDATE_FAILED", "boom")])
    product, pp_id = provisioned_web(sc, ProvisioningScript(duration=2), v2=failing)
    fresh = create_plan(client, product, "fresh")
    with pytest.raises(ClientError):
        create_plan(client, product, "fresh")  # one plan per product
    eventually(client.describe_provisioned_product_plan, PlanId=fresh["PlanId"])
    client.list_provisioned_product_plans(ProvisionProductId=fresh["ProvisionProductId"])
    client.list_provisioned_product_plans(AccessLevelFilter={"Key": "Account", "Value": "self"}, PageSize=1)
    client.delete_provisioned_product_plan(PlanId=fresh["PlanId"], IgnoreErrors=True)
    eventually(client.describe_provisioned_product, Id=fresh["ProvisionProductId"])  # kept placeholder
    client.terminate_provisioned_product(ProvisionedProductId=fresh["ProvisionProductId"], TerminateToken="t0")

    update = create_plan(client, product, "web", "v2")
    record = executed(client, update["PlanId"])
    eventually(client.describe_provisioned_product_plan, PlanId=update["PlanId"])  # stale CREATE_SUCCESS
    eventually(client.describe_provisioned_product, Id=pp_id)  # stale AVAILABLE
    with pytest.raises(ClientError):
        executed(client, update["PlanId"], token="again")
    clock.advance(2)
    eventually(client.describe_record, Id=record["RecordId"])
    with pytest.raises(ClientError):
        client.delete_provisioned_product_plan(PlanId=update["PlanId"])  # EXECUTE_FAILED
    client.delete_provisioned_product_plan(PlanId=update["PlanId"], IgnoreErrors=True)
    nothing = create_plan(client, product, "web", ProvisioningParameters=[{"Key": "Size", "Value": "1"}])
    eventually(client.describe_provisioned_product_plan, PlanId=nothing["PlanId"])  # CREATE_FAILED, no changes
    with pytest.raises(ClientError):
        client.describe_provisioned_product_plan(PlanId="bad/id")
    sc.revoke_launch_access(product.id)
    with pytest.raises(ClientError):
        client.update_provisioned_product(ProvisionedProductId=pp_id, UpdateToken="u9")
    sc.grant_launch_access(product.id)
    client.delete_provisioned_product_plan(PlanId=nothing["PlanId"])
    terminate = client.terminate_provisioned_product(ProvisionedProductId=pp_id, TerminateToken="t1")
    eventually(client.describe_record, Id=terminate["RecordDetail"]["RecordId"])
    client.list_record_history(SearchFilter={"Key": "provisionedproduct", "Value": pp_id})

    operations = {model.name for model, *_ in bodies}
    assert operations >= {
        "CreateProvisionedProductPlan",
        "DescribeProvisionedProductPlan",
        "ExecuteProvisionedProductPlan",
        "DeleteProvisionedProductPlan",
        "ListProvisionedProductPlans",
        "DescribeRecord",
        "DescribeProvisionedProduct",
        "TerminateProvisionedProduct",
        "UpdateProvisionedProduct",
    }
    parser = create_parser("json")
    seen_codes: set[str] = set()
    for model, status, content, headers in bodies:
        raw = json.loads(content)
        if status != 200:
            assert status == 400
            assert set(raw) == {"__type", "message"}
            seen_codes.add(raw["__type"])
            # ValidationException is not in the model for any Service Catalog operation (rules.py, 7).
            known = {shape.name for shape in model.error_shapes} | {"ValidationException"}
            assert raw["__type"] in known, (model.name, raw)
            continue
        assert validate_output(model, raw) == [], (model.name, raw)
        parsed = parser.parse({"status_code": status, "headers": headers, "body": content}, model.output_shape)
        parsed.pop("ResponseMetadata", None)
        report = ParamValidator().validate(parsed, model.output_shape)
        assert not report.has_errors(), (model.name, report.generate_report())
    assert seen_codes == {"ResourceNotFoundException", "InvalidStateException", "ValidationException"}
