"""Create: validation before any call, plan states, execution, record outcomes, physical ids."""

from __future__ import annotations

import time

import pytest
from botocore.stub import Stubber

from support import sc_stubs as sc
from support.cfn_requests import Answers, FakeContext, invoke, make_event

FAST = {"PollingIntervalSeconds": "0.1", "PollingBackoffRate": "1", "PollingMaxIntervalSeconds": "0.1"}


def test_create_executes_the_plan_and_reports_ids_and_every_output(stub: Stubber, answers: Answers) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    sc.describe_record(stub, "IN_PROGRESS")
    sc.describe_record(stub, "SUCCEEDED", outputs={f"Key{i}": f"v{i}" for i in range(20)}, next_token="page2")
    sc.describe_product(stub, "AVAILABLE")
    sc.describe_record(stub, "SUCCEEDED", outputs={"Key20": "v20"}, page_token="page2")

    invoke(make_event("Create", {"PlanId": sc.PLAN_ID, **FAST}))

    body = answers.only
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID
    assert body["Data"]["ProvisionedProductId"] == sc.PRODUCT_ID
    assert body["Data"]["RecordId"] == sc.RECORD_ID
    assert {k for k in body["Data"] if k.startswith("Outputs.")} == {f"Outputs.Key{i}" for i in range(21)}


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({}, "PlanId is required"),
        ({"PlanId": ""}, "PlanId is required"),
        ({"PlanId": "has spaces"}, "PlanId 'has spaces' is not a plan id: use 1-100 characters"),
        ({"PlanId": "x" * 101}, "is not a plan id"),
        ({"PlanId": "ok", "AcceptLanguage": "fr"}, "AcceptLanguage 'fr' is not supported: use one of en, jp, zh"),
        ({"PlanId": "ok", "PollingBackoffRate": "0.5"}, "PollingBackoffRate '0.5' is out of range"),
        ({"PlanId": "ok", "PollingIntervalSeconds": "soon"}, "PollingIntervalSeconds 'soon' is out of range"),
        (
            {"PlanId": "ok", "PollingIntervalSeconds": "5", "PollingMaxIntervalSeconds": "2"},
            "PollingMaxIntervalSeconds '2' is out of range: use a number from 5",
        ),
        (
            {"PlanId": "ok", "ServiceTimeout": "600", "DeadlineSeconds": "900"},
            "DeadlineSeconds '900' is out of range: use a number from 1 to 600 (ServiceTimeout is 600 s",
        ),
    ],
)
def test_bad_input_fails_at_once_naming_the_property_without_any_call(
    stub: Stubber, answers: Answers, properties: dict[str, str], expected: str
) -> None:
    started = time.monotonic()
    event = make_event("Create", properties)
    invoke(event)

    body = answers.only
    assert body["Status"] == "FAILED"
    assert expected in body["Reason"]
    # Not a product id: the rollback Delete recognises it and makes no call.
    assert body["PhysicalResourceId"] == f"not-provisioned-Bucket-{event['RequestId'][:8]}"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("PolingIntervalSeconds", "PollingIntervalSeconds"), ("PlanID", "PlanId"), ("Colour", None)],
)
def test_an_unknown_property_fails_naming_it_and_the_closest_one_without_any_call(
    stub: Stubber, answers: Answers, typo: str, meant: str | None
) -> None:
    properties = {"PlanId": sc.PLAN_ID, typo: "2"}
    if typo == "PlanID":
        properties = {"PlanID": sc.PLAN_ID}
    invoke(make_event("Create", properties))
    body = answers.only
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith(f"Unknown property {typo}")
    assert (f"did you mean {meant}?" in body["Reason"]) == (meant is not None)
    assert 'IgnoreUnknownProperties: "true"' in body["Reason"]
    assert body["PhysicalResourceId"].startswith("not-provisioned-")
    stub.assert_no_pending_responses()  # no Service Catalog call was made


def test_unknown_properties_are_ignored_when_the_template_says_so(stub: Stubber, answers: Answers) -> None:
    sc.describe_plan(stub, "CREATE_FAILED", message="x")
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID, "Colour": "blue", "IgnoreUnknownProperties": "true"}))
    assert "CREATE_FAILED" in answers.only["Reason"]


def test_plan_create_failed_fails_with_its_status_message(stub: Stubber, answers: Answers) -> None:
    sc.describe_plan(stub, "CREATE_FAILED", message="Parameter BucketName is invalid")
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID}))
    body = answers.only
    assert body["Status"] == "FAILED"
    assert f"PlanId {sc.PLAN_ID} is CREATE_FAILED: Parameter BucketName is invalid" in body["Reason"]
    assert body["PhysicalResourceId"].startswith("not-provisioned-")


def test_plan_still_creating_is_waited_for(stub: Stubber, answers: Answers) -> None:
    sc.describe_plan(stub, "CREATE_IN_PROGRESS")
    sc.describe_plan(stub, "CREATE_IN_PROGRESS")
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    sc.describe_record(stub, "SUCCEEDED")
    sc.describe_product(stub, "AVAILABLE")
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID, **FAST}))
    assert answers.only["Status"] == "SUCCESS"


def test_plan_that_never_finishes_creating_fails_at_the_deadline(stub: Stubber, answers: Answers) -> None:
    for _ in range(30):
        sc.describe_plan(stub, "CREATE_IN_PROGRESS")
    started = time.monotonic()
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID, "DeadlineSeconds": "1", **FAST}))
    body = answers.only
    assert body["Status"] == "FAILED"
    assert f"PlanId {sc.PLAN_ID} was still CREATE_IN_PROGRESS when DeadlineSeconds (1 s) ran out" in body["Reason"]
    assert time.monotonic() - started < 3
    stub._queue.clear()  # the unused polls


def test_unknown_plan_fails_pointing_at_portfolio_access(stub: Stubber, answers: Answers) -> None:
    for _ in range(40):  # looked for a while first: a plan just created may not be visible yet
        sc.not_found(stub, "describe_provisioned_product_plan")
    started = time.monotonic()
    invoke(make_event("Create", {"PlanId": "plan-missing", **FAST}))
    assert time.monotonic() - started < 5
    stub._queue.clear()
    body = answers.only
    assert body["Status"] == "FAILED"
    assert "PlanId plan-missing was not found" in body["Reason"]
    assert "portfolio" in body["Reason"]


def test_a_plan_is_not_missing_before_several_reads_found_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under throttling one read can outlast the visibility window alone: absence needs more reads."""
    from sc_plan_provider.servicecatalog import wait
    from sc_plan_provider.servicecatalog.calls import NotFoundError
    from sc_plan_provider.waiting.deadline import Deadline
    from sc_plan_provider.waiting.policy import PollingPolicy
    from sc_plan_provider.waiting.visibility import Visibility

    # The window is already over: only the reads count.
    monkeypatch.setattr(wait, "PLAN_ID_VISIBILITY", Visibility(min_reads=3, window_seconds=0.0))
    reads: list[int] = []

    class Catalog:
        def describe_plan(self, plan_id: str) -> object:
            reads.append(1)
            if len(reads) < 3:
                raise NotFoundError("not found", "ResourceNotFoundException")
            return type("P", (), {"status": "CREATE_SUCCESS"})()

    plan = wait.settled_plan(
        Catalog(),  # type: ignore[arg-type]
        "plan-late",
        policy=PollingPolicy(interval_seconds=0.01, backoff_rate=1.0, max_interval_seconds=0.01),
        deadline=Deadline.after(5, "DeadlineSeconds"),
        sleep=lambda _s: None,
    )
    assert plan is not None and len(reads) == 3


def test_failed_record_fails_with_its_errors_and_keeps_the_product_id(stub: Stubber, answers: Answers) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    sc.describe_record(stub, "IN_PROGRESS_IN_ERROR")  # rollback under way: not terminal
    sc.describe_record(stub, "FAILED", errors=[("CREATE_FAILED", "Bucket name taken"), ("ROLLBACK", "done")])
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID, **FAST}))
    body = answers.only
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID  # the rollback Delete will terminate it
    assert "CREATE_FAILED: Bucket name taken; ROLLBACK: done" in body["Reason"]
    assert body["Data"] == {}


@pytest.mark.parametrize("status", ["TAINTED", "ERROR"])
def test_succeeded_record_that_left_the_product_broken_is_a_failure(
    stub: Stubber, answers: Answers, status: str
) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    sc.describe_record(stub, "SUCCEEDED")
    sc.describe_product(stub, status)
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID}))
    body = answers.only
    assert body["Status"] == "FAILED"
    assert f"SUCCEEDED but provisioned product {sc.PRODUCT_ID} is {status}" in body["Reason"]
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID


def test_duplicate_delivery_after_the_answer_does_nothing(stub: Stubber, answers: Answers) -> None:
    event = make_event("Create", {"PlanId": sc.PLAN_ID})
    tokens: list[str] = []
    stub.client.meta.events.register(
        "provide-client-params.servicecatalog.ExecuteProvisionedProductPlan",
        lambda params, **_: tokens.append(params["IdempotencyToken"]),
    )
    sc.describe_plan(stub, "CREATE_SUCCESS")
    stub.add_response("execute_provisioned_product_plan", {"RecordDetail": {"RecordId": sc.RECORD_ID}}, None)
    sc.describe_record(stub, "SUCCEEDED", outputs={"Name": "b"})
    sc.describe_product(stub, "AVAILABLE")
    invoke(event)
    invoke(event)  # the request ledger knows it was answered: no call, no second answer
    assert answers.only["Status"] == "SUCCESS"
    assert len(tokens) == 1
    assert 1 <= len(tokens[0]) <= 128


def test_idempotency_token_is_derived_from_the_request() -> None:
    from sc_plan_provider.core.request import PlanRequest

    event = make_event("Create", {"PlanId": sc.PLAN_ID})
    again = PlanRequest.from_event(dict(event))
    other = PlanRequest.from_event({**event, "RequestId": "another"})
    request = PlanRequest.from_event(event)
    assert request.token("execute", sc.PLAN_ID) == again.token("execute", sc.PLAN_ID)
    assert request.token("execute", sc.PLAN_ID) != other.token("execute", sc.PLAN_ID)


def test_plan_already_executed_by_another_request_fails_create(stub: Stubber, answers: Answers) -> None:
    # Decided from the plan's status and the provider's records: no execute is even tried.
    sc.describe_plan(stub, "EXECUTE_SUCCESS")
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID}))
    body = answers.only
    assert body["Status"] == "FAILED"
    assert "was already executed by another request (status EXECUTE_SUCCESS): a plan executes once" in body["Reason"]
    assert body["PhysicalResourceId"].startswith("not-provisioned-")


def test_provisioning_longer_than_the_deadline_fails_clearly_with_the_product_id(
    stub: Stubber, answers: Answers
) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    for _ in range(40):
        sc.describe_record(stub, "IN_PROGRESS")
    started = time.monotonic()
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID, "DeadlineSeconds": "1", **FAST}))
    body = answers.only
    assert body["Status"] == "FAILED"
    assert f"record {sc.RECORD_ID} was still IN_PROGRESS when DeadlineSeconds (1 s) ran out" in body["Reason"]
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID
    assert time.monotonic() - started < 3
    stub._queue.clear()


def test_function_deadline_answers_before_lambda_would_kill_it(stub: Stubber, answers: Answers) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    for _ in range(60):
        sc.describe_record(stub, "IN_PROGRESS")
    context = FakeContext(timeout_seconds=3)
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID, **FAST}), context)
    body = answers.only
    assert body["Status"] == "FAILED"
    assert "provider function's own deadline neared" in body["Reason"]
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID
    assert context.get_remaining_time_in_millis() > 0
    stub._queue.clear()
