"""Only CloudFormation's requests count: the ResponseURL must be CloudFormation's, the request not
older than its ServiceTimeout, and CloudFormation must show it in progress, before anything is done."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from sc_plan_provider import handler
from sc_plan_provider.runtime.confirmation import (
    response_url_is_cloudformations,
    signed_at,
    unconfirmed_reason,
)
from support import sc_stubs as sc
from support.cfn_requests import STACK_ID, Answers, invoke, make_event, response_url

FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:provider"
KEY = "arn%3Aaws%3Acloudformation%3Aeu-west-1%3A123456789012%3Astack/s/1%7CBucket%7Cr"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        (f"https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/{KEY}?X-Amz-Date=x", True),
        (f"https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/{KEY}", True),
        (f"https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/{KEY}", True),
        (f"https://s3.eu-west-1.amazonaws.com/cloudformation-custom-resource-response-euwest1/{KEY}", True),
        ("https://127.0.0.1:8443/cloudformation-custom-resource-response-useast1/key", True),  # the local cloud
        ("https://[::1]:8443/bucket/key", True),
        # Another Region's bucket, another bucket, plain HTTP, anyone's host, S3's host with another path.
        (f"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/{KEY}", False),
        (f"https://my-bucket.s3.amazonaws.com/{KEY}", False),
        (f"http://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/{KEY}", False),
        ("https://attacker.example/collect", False),
        ("https://10.0.0.5/internal", False),
        ("https://s3.eu-west-1.amazonaws.com/my-bucket/cloudformation-custom-resource-response-euwest1/x", False),
        ("https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com.attacker.example/x", False),
    ],
)
def test_only_cloudformations_response_bucket_is_answered(url: str, allowed: bool) -> None:
    assert response_url_is_cloudformations(url, FUNCTION) is allowed


def test_the_china_partition_has_its_own_suffix() -> None:
    arn = "arn:aws-cn:lambda:cn-north-1:123456789012:function:provider"
    url = "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/key"
    assert response_url_is_cloudformations(url, arn)
    assert not response_url_is_cloudformations(url.replace(".com.cn", ".com"), arn)


def test_the_signing_time_is_read_from_the_query() -> None:
    assert signed_at("https://h/k?X-Amz-Date=20261207T101112Z&X-Amz-Expires=7200") == 1796638272.0
    assert signed_at("https://h/k?AWSAccessKeyId=A&Expires=1555451971&Signature=s") is None  # older signing


def cloudformation(stub_calls: list[tuple[str, dict[str, Any]]]) -> Any:
    client = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stubber = Stubber(client)
    for operation, response in stub_calls:
        if "Error" in response:
            stubber.add_client_error(operation, service_error_code=response["Error"], http_status_code=400)
        else:
            stubber.add_response(operation, response)
    stubber.activate()
    return client


def detail(status: str, *, resource_type: str = "Custom::ServiceCatalogPlanExecution", physical: str = "") -> Any:
    shown: dict[str, Any] = {
        "LogicalResourceId": "Bucket",
        "ResourceType": resource_type,
        "LastUpdatedTimestamp": "2026-12-07T10:00:00Z",
        "ResourceStatus": status,
    }
    if physical:
        shown["PhysicalResourceId"] = physical
    return ("describe_stack_resource", {"StackResourceDetail": shown})


def stacks(status: str) -> Any:
    return (
        "describe_stacks",
        {"Stacks": [{"StackName": "s", "CreationTime": "2026-12-07T10:00:00Z", "StackStatus": status}]},
    )


@pytest.mark.parametrize(
    ("request_type", "physical", "calls", "confirmed"),
    [
        ("Create", None, [detail("CREATE_IN_PROGRESS")], True),
        ("Update", "pp-1", [detail("UPDATE_IN_PROGRESS", physical="pp-1")], True),
        ("Delete", "pp-1", [detail("DELETE_IN_PROGRESS", physical="pp-1")], True),
        # Which status a rollback shows is not documented: the model's rollback statuses count too.
        ("Update", "pp-1", [detail("UPDATE_ROLLBACK_IN_PROGRESS", physical="pp-1")], True),
        ("Delete", "pp-1", [detail("ROLLBACK_IN_PROGRESS", physical="pp-1")], True),
        # A replaced product's cleanup: the resource shows its new id, the stack cleans up.
        (
            "Delete",
            "pp-old",
            [detail("UPDATE_COMPLETE", physical="pp-new"), stacks("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")],
            True,
        ),
        (
            "Delete",
            "pp-old",
            [detail("UPDATE_COMPLETE", physical="pp-new"), stacks("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")],
            True,
        ),
        # ...and once the stack settled (a cleanup Delete Lambda's queue held): nothing is orphaned.
        ("Delete", "pp-old", [detail("UPDATE_COMPLETE", physical="pp-new"), stacks("UPDATE_COMPLETE")], True),
    ],
)
def test_what_cloudformation_shows_while_it_waits_confirms_the_request(
    request_type: str, physical: str | None, calls: list[Any], confirmed: bool
) -> None:
    event = make_event(request_type, {"PlanId": "p"}, physical_id=physical)
    assert unconfirmed_reason(event, cloudformation(calls), sleep=lambda _s: None) is None


@pytest.mark.parametrize(
    ("request_type", "physical", "shown", "expected"),
    [
        ("Create", None, [detail("CREATE_COMPLETE")], "is CREATE_COMPLETE"),
        ("Update", "pp-1", [detail("UPDATE_COMPLETE", physical="pp-1")], "is UPDATE_COMPLETE"),
        # A Delete naming another stack's (or this stack's, not deleting) resource.
        ("Delete", "pp-1", [detail("CREATE_COMPLETE", physical="pp-1")], "is CREATE_COMPLETE"),
        # The Delete of an id the resource no longer has while the stack still changes (a rollback
        # may bring that id back): not confirmed.
        (
            "Delete",
            "pp-other",
            [detail("UPDATE_COMPLETE", physical="pp-1"), stacks("UPDATE_IN_PROGRESS")],
            "still changing",
        ),
        ("Create", None, [detail("CREATE_IN_PROGRESS", resource_type="AWS::S3::Bucket")], "not a Custom::"),
        ("Create", None, [("describe_stack_resource", {"Error": "ValidationError"})], "no resource Bucket"),
    ],
)
def test_a_request_cloudformation_does_not_show_in_progress_is_not_confirmed(
    request_type: str, physical: str | None, shown: list[Any], expected: str
) -> None:
    event = make_event(request_type, {"PlanId": "p"}, physical_id=physical)
    slept: list[float] = []
    # Read again for a few seconds (eventual consistency), then refused naming what it shows.
    reason = unconfirmed_reason(event, cloudformation(shown * 4), sleep=slept.append)
    assert reason is not None and expected in reason
    assert slept == [0.5, 1.0, 2.0]


def test_a_read_that_lags_is_read_again_and_then_confirms() -> None:
    event = make_event("Create", {"PlanId": "p"})
    calls = [("describe_stack_resource", {"Error": "ValidationError"}), detail("CREATE_IN_PROGRESS")]
    assert unconfirmed_reason(event, cloudformation(calls), sleep=lambda _s: None) is None


# --- Through the entry point: refused before anything is done ----------------------------------


def test_a_request_cloudformation_does_not_show_is_answered_failed_and_changes_nothing(
    stub: Any, answers: Answers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        handler.helper, "_confirm", lambda event, stale: "resource Bucket (Custom::X) is CREATE_COMPLETE"
    )
    event = make_event("Delete", {"PlanId": sc.PLAN_ID}, physical_id=sc.PRODUCT_ID)
    invoke(event)  # the stub has no Service Catalog answer queued: any call would fail the test
    body = answers.only
    assert body["Status"] == "FAILED"
    assert "Refused, nothing was changed: CloudFormation does not show this Delete in progress" in body["Reason"]
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID
    # Nothing written: the request was never registered (its ledger item does not exist).
    assert handler.default_ledger().event_digest(handler.PlanRequest.from_event(event)) is None


def test_a_response_url_that_is_not_cloudformations_gets_no_answer(answers: Answers, confirmed: list[Any]) -> None:
    event = make_event("Update", {"PlanId": sc.PLAN_ID}, physical_id=sc.PRODUCT_ID, old_properties={"PlanId": "x"})
    event["ResponseURL"] = "https://attacker.example/collect?X-Amz-Signature=TOPSECRET0123456789"
    invoke(event)
    assert answers.bodies == [] and confirmed == []  # not even CloudFormation was asked


def test_a_request_older_than_its_service_timeout_is_refused(answers: Answers, confirmed: list[Any]) -> None:
    event = make_event("Create", {"PlanId": sc.PLAN_ID, "ServiceTimeout": "600"})
    event["ResponseURL"] = response_url(signed_at=time.time() - 601)
    invoke(event)
    body = answers.only
    assert body["Status"] == "FAILED" and "more than its ServiceTimeout (600 s) ago" in body["Reason"]


@pytest.mark.parametrize(
    ("request_type", "physical", "shown", "confirmed"),
    [
        ("Create", None, [detail("CREATE_IN_PROGRESS")], False),  # in progress, yet too old: refused
        ("Delete", "pp-1", [detail("DELETE_IN_PROGRESS", physical="pp-1")], False),
        # A replaced product's cleanup Delete that Lambda's queue held: the stack settled without it.
        ("Delete", "pp-old", [detail("UPDATE_COMPLETE", physical="pp-new"), stacks("UPDATE_COMPLETE")], True),
    ],
)
def test_an_old_request_is_confirmed_only_as_the_delete_of_a_product_no_longer_held(
    request_type: str, physical: str | None, shown: list[Any], confirmed: bool
) -> None:
    event = make_event(request_type, {"PlanId": "p"}, physical_id=physical)
    slept: list[float] = []
    reason = unconfirmed_reason(event, cloudformation(shown), sleep=slept.append, stale="too old")
    assert (reason is None) == confirmed
    assert slept == []  # no later read makes it younger


def test_a_redelivery_of_a_confirmed_request_is_not_asked_about_again(
    stub: Any, answers: Answers, confirmed: list[Any]
) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    sc.describe_record(stub, "SUCCEEDED", outputs={"BucketName": "b"})
    sc.describe_product(stub, "AVAILABLE")
    event = make_event("Create", {"PlanId": sc.PLAN_ID})
    invoke(event)
    invoke(event)  # a duplicate delivery: answered already, and known by its digest
    assert answers.only["Status"] == "SUCCESS"
    assert len(confirmed) == 1


def test_another_event_with_a_confirmed_requests_id_is_refused(
    stub: Any, answers: Answers, confirmed: list[Any]
) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    sc.describe_record(stub, "SUCCEEDED", outputs={"BucketName": "b"})
    sc.describe_product(stub, "AVAILABLE")
    event = make_event("Create", {"PlanId": sc.PLAN_ID})
    invoke(event)
    forged = {**event, "ResourceProperties": {**event["ResourceProperties"], "PlanId": "plan-other"}}
    invoke(forged)
    first, second = answers.bodies
    assert first["Status"] == "SUCCESS"
    assert second["Status"] == "FAILED" and "another event already came with this request's id" in second["Reason"]
    assert STACK_ID in second["StackId"]
