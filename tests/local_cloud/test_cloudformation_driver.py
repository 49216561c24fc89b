"""The local CloudFormation driver plays CloudFormation's side of the custom resource protocol."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from local_cloud.cloudformation import (
    TOO_LONG_REASON,
    CloudFormationApiServer,
    CloudFormationDriver,
    CustomResource,
    Delivery,
    Outcome,
    ProgressEvent,
    Stack,
    UnresolvableError,
    resolve_intrinsics,
    stringify_properties,
    validate_response_body,
)
from local_cloud.cloudformation.events import build_request_event, validate_resource_type

# --------------------------------------------------------------------------------------------------
# A fake function: answers the ResponseURL over verified HTTPS the way the real handler does.


@dataclass
class Answer:
    status: str = "SUCCESS"
    reason: str | None = None
    physical_id: str | None = "keep"  # "keep": the request's id, or pid-<logical> on Create
    data: dict[str, Any] = field(default_factory=dict)
    times: int = 1
    raw_body: bytes | None = None
    pad_to: int | None = None  # make the body at least this many bytes
    delay: float = 0.0


Script = Callable[[dict[str, Any]], Answer | None]


class FakeFunction:
    """An ``invoke`` callable: records events, answers in a background thread (async invoke)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.script: Script = lambda event: Answer()
        self.ca_file: str | None = None
        self.put_statuses: list[int] = []
        self.max_attempts = 5
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def __call__(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.events.append(event)
        thread = threading.Thread(target=self._run, args=(event,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def join(self) -> None:
        for thread in list(self._threads):
            thread.join(timeout=10)

    def _run(self, event: dict[str, Any]) -> None:
        answer = self.script(event)
        if answer is None:
            return
        time.sleep(answer.delay)
        body = answer.raw_body if answer.raw_body is not None else self._body(event, answer)
        for _ in range(answer.times):
            self._put(event["ResponseURL"], body)

    @staticmethod
    def _body(event: dict[str, Any], answer: Answer) -> bytes:
        physical_id = answer.physical_id
        if physical_id == "keep":
            physical_id = event.get("PhysicalResourceId") or f"pid-{event['LogicalResourceId']}"
        response: dict[str, Any] = {
            "Status": answer.status,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "PhysicalResourceId": physical_id,
            "Data": answer.data,
        }
        if answer.reason is not None:
            response["Reason"] = answer.reason
        body = json.dumps(response).encode()
        if answer.pad_to and len(body) < answer.pad_to:
            response["Data"] = {**answer.data, "Padding": ""}
            filler = answer.pad_to - len(json.dumps(response).encode())
            response["Data"]["Padding"] = "x" * filler
            body = json.dumps(response).encode()
        return body

    def _put(self, url: str, body: bytes) -> None:
        parts = urlsplit(url)
        context = ssl.create_default_context(cafile=self.ca_file)
        for _ in range(self.max_attempts):
            conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, context=context, timeout=10)
            try:
                conn.request(
                    "PUT",
                    f"{parts.path}?{parts.query}",
                    body=body,
                    headers={"Content-Type": "", "Content-Length": str(len(body))},
                )
                status = conn.getresponse().status
            finally:
                conn.close()
            with self._lock:
                self.put_statuses.append(status)
            if status < 500:
                return
            time.sleep(0.05)


@pytest.fixture
def fake() -> FakeFunction:
    return FakeFunction()


@pytest.fixture
def driver(fake: FakeFunction, tmp_path: Any) -> Iterator[CloudFormationDriver]:
    with CloudFormationDriver(fake, tls_dir=tmp_path / "tls", time_scale=0.002) as drv:
        fake.ca_file = str(drv.ca_file)
        yield drv
        fake.join()


def resource(logical_id: str = "Plan", **kwargs: Any) -> CustomResource:
    properties = kwargs.pop("properties", {"ProductId": "prod-abc", "Version": 1, "Enabled": True})
    return CustomResource(logical_id=logical_id, properties=properties, **kwargs)


def send_create(driver: CloudFormationDriver, timeout: float, *, stack: str = "t", **options: Any) -> Outcome:
    """One bare Create of ``Custom::Plan`` "Plan" whose wait for an answer is cut to ``timeout`` seconds."""
    return driver.send(
        request_type="Create",
        stack_id=f"arn:aws:cloudformation:us-east-1:123456789012:stack/{stack}/1",
        resource_type="Custom::Plan",
        logical_resource_id="Plan",
        properties={},
        delivery=Delivery(service_timeout_override=timeout),
        **options,
    )


def capture_only(store: list[dict[str, Any]]) -> Script:
    """A script that keeps the event and never answers: the test answers by hand."""

    def script(event: dict[str, Any]) -> None:
        store.append(event)

    return script


def requests_of(fake: FakeFunction) -> list[tuple[str, str, str | None]]:
    return [(e["RequestType"], e["LogicalResourceId"], e.get("PhysicalResourceId")) for e in fake.events]


# --------------------------------------------------------------------------------------------------
# Request events


def test_properties_are_converted_to_strings_recursively() -> None:
    converted = stringify_properties(
        {"A": 1, "B": True, "C": False, "D": 1.5, "E": {"F": [2, "x", {"G": None, "H": 0}]}, "N": None}
    )
    assert converted == {"A": "1", "B": "true", "C": "false", "D": "1.5", "E": {"F": ["2", "x", {"H": "0"}]}}


def test_template_values_resolve_as_cloudformation_would_pass_them() -> None:
    properties = {
        "ServiceToken": {"Fn::ImportValue": "Shared-ServiceToken"},
        "PlanId": {"Ref": "PlanId"},
        "Nested": [{"Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}, {"Name": {"Fn::GetAtt": "Fn.Outputs.Name"}}, 3],
    }
    resolved = resolve_intrinsics(
        properties,
        refs={"PlanId": "plan-1"},
        imports={"Shared-ServiceToken": "arn:fn"},
        attributes={"Fn.Arn": "arn:fn", "Fn.Outputs.Name": "n"},
    )
    assert resolved == {"ServiceToken": "arn:fn", "PlanId": "plan-1", "Nested": [{"Arn": "arn:fn"}, {"Name": "n"}, 3]}
    with pytest.raises(UnresolvableError, match="Fn::ImportValue 'Other'"):
        resolve_intrinsics({"Fn::ImportValue": "Other"}, imports={"Shared-ServiceToken": "arn:fn"})
    with pytest.raises(UnresolvableError, match="condition 'IsProd' has no local value"):
        resolve_intrinsics({"X": {"Fn::If": ["IsProd", "a", "b"]}}, refs={"AWS::Region": "eu-west-1"})
    with pytest.raises(UnresolvableError, match="Fn::Sub 'Missing'"):
        resolve_intrinsics({"Fn::Sub": "${Missing}"}, refs={"AWS::Region": "eu-west-1"})


def test_join_sub_select_and_split_resolve_as_cloudformation_evaluates_them() -> None:
    refs = {"AWS::Region": "eu-west-1", "AWS::AccountId": "111122223333", "Table": "t-1"}
    attributes = {"Table.Arn": "arn:aws:dynamodb:eu-west-1:111122223333:table/t-1"}
    values = {
        "Join": {"Fn::Join": [":", ["arn", "aws", "lambda", {"Ref": "AWS::Region"}]]},
        "Sub": {"Fn::Sub": "arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Table}/${!Literal}"},
        "SubAttribute": {"Fn::Sub": "${Table.Arn}/index/*"},
        "SubVariables": {"Fn::Sub": ["${Name}-${AWS::Region}", {"Name": {"Ref": "Table"}}]},
        "Select": {"Fn::Select": ["1", {"Fn::Split": ["/", {"Fn::GetAtt": ["Table", "Arn"]}]}]},
    }
    assert resolve_intrinsics(values, refs=refs, attributes=attributes) == {
        "Join": "arn:aws:lambda:eu-west-1",
        "Sub": "arn:aws:logs:eu-west-1:111122223333:log-group:t-1/${Literal}",
        "SubAttribute": "arn:aws:dynamodb:eu-west-1:111122223333:table/t-1/index/*",
        "SubVariables": "t-1-eu-west-1",
        "Select": "t-1",
    }


def test_request_event_has_cloudformation_shape(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    stack = Stack(driver, "shape-stack")
    stack.create(resource(service_timeout=30))
    stack.update(resource(properties={"ProductId": "prod-abc", "Version": 2, "Enabled": True}, service_timeout=30))
    create, update = fake.events
    assert set(create) == {
        "RequestType",
        "ServiceToken",
        "ResponseURL",
        "StackId",
        "RequestId",
        "ResourceType",
        "LogicalResourceId",
        "ResourceProperties",
    }
    assert create["ServiceToken"] == "arn:aws:lambda:us-east-1:123456789012:function:sc-plan-provider"
    assert create["StackId"].startswith("arn:aws:cloudformation:us-east-1:123456789012:stack/shape-stack/")
    assert create["ResourceProperties"] == {
        "ServiceToken": create["ServiceToken"],
        "ServiceTimeout": "30",
        "ProductId": "prod-abc",
        "Version": "1",
        "Enabled": "true",
    }
    assert create["ResponseURL"].startswith(f"https://127.0.0.1:{driver.server.port}/")
    assert "X-Amz-Signature=" in create["ResponseURL"]
    assert update["PhysicalResourceId"] == "pid-Plan"
    assert update["OldResourceProperties"] == create["ResourceProperties"]
    assert update["ResourceProperties"]["Version"] == "2"
    assert update["RequestId"] != create["RequestId"]
    assert update["ResponseURL"] != create["ResponseURL"]


def test_resource_type_is_validated() -> None:
    assert validate_resource_type("Custom::Plan_v2@x-y") == "Custom::Plan_v2@x-y"
    validate_resource_type("Custom::" + "a" * 60)
    for bad in ("Custom::" + "a" * 61, "Custom::", "AWS::S3::Bucket", "Custom::bad.name"):
        with pytest.raises(ValueError):
            validate_resource_type(bad)
    with pytest.raises(ValueError):
        build_request_event(
            request_type="Update",
            service_token="t",
            response_url="u",
            stack_id="s",
            request_id="r",
            resource_type="Custom::X",
            logical_resource_id="L",
            properties={},
            physical_resource_id="p",
        )


# --------------------------------------------------------------------------------------------------
# Sequences


def test_create_update_in_place_delete(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    fake.script = lambda event: Answer(data={"RecordId": f"rec-{event['RequestType']}"})
    stack = Stack(driver, "happy")
    created = stack.create(resource())
    assert created.status == "CREATE_COMPLETE"
    (outcome,) = created.outcomes
    assert (outcome.status, outcome.physical_resource_id, outcome.data) == (
        "SUCCESS",
        "pid-Plan",
        {"RecordId": "rec-Create"},
    )
    assert stack.resources["Plan"].physical_resource_id == "pid-Plan"

    updated = stack.update(resource(properties={"ProductId": "prod-abc", "Version": 2}))
    assert updated.status == "UPDATE_COMPLETE"
    assert [o.request_type for o in updated.outcomes] == ["Update"]
    assert updated.outcomes[0].physical_resource_id == "pid-Plan"

    deleted = stack.delete()
    assert deleted.status == "DELETE_COMPLETE"
    assert requests_of(fake) == [
        ("Create", "Plan", None),
        ("Update", "Plan", "pid-Plan"),
        ("Delete", "Plan", "pid-Plan"),
    ]
    assert fake.events[2]["ResourceProperties"]["Version"] == "2"
    time.sleep(0.2)
    assert [o.answers for o in stack._outcomes] == [1, 1, 1]
    assert [row.record_id for row in stack.history] == ["rec-Create", "rec-Update", "rec-Delete"]
    table = stack.summary()
    assert "rec-Update" in table
    assert "DELETE_COMPLETE" in table


def test_unchanged_update_sends_nothing(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    stack = Stack(driver, "noop")
    stack.create(resource())
    result = stack.update(resource(properties={"ProductId": "prod-abc", "Version": "1", "Enabled": "true"}))
    assert result.outcomes == ()
    assert result.status == "UPDATE_COMPLETE"
    assert len(fake.events) == 1


def test_replacement_triggers_cleanup_delete_of_old_id(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    def script(event: dict[str, Any]) -> Answer:
        if event["RequestType"] == "Update":
            return Answer(physical_id="pid-new")
        return Answer()

    fake.script = script
    stack = Stack(driver, "replace")
    stack.create(resource())
    result = stack.update(resource(properties={"ProductId": "prod-other"}))
    assert result.status == "UPDATE_COMPLETE"
    assert [(o.phase, o.request_type, o.physical_resource_id) for o in result.outcomes] == [
        ("update", "Update", "pid-new"),
        ("cleanup", "Delete", "pid-Plan"),
    ]
    cleanup = fake.events[-1]
    assert cleanup["PhysicalResourceId"] == "pid-Plan"
    assert cleanup["ResourceProperties"]["ProductId"] == "prod-abc"  # the old properties
    assert stack.resources["Plan"].physical_resource_id == "pid-new"


def test_update_replace_policy_retain_skips_cleanup(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    fake.script = lambda event: Answer(physical_id="pid-new" if event["RequestType"] == "Update" else "keep")
    stack = Stack(driver, "replace-retain")
    stack.create(resource(update_replace_policy="Retain"))
    result = stack.update(resource(properties={"ProductId": "x"}, update_replace_policy="Retain"))
    assert result.status == "UPDATE_COMPLETE"
    assert [e["RequestType"] for e in fake.events] == ["Create", "Update"]


def test_failed_create_rolls_back_with_failed_physical_id(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    fake.script = lambda event: (
        Answer(status="FAILED", reason="plan CREATE_FAILED", physical_id="pp-half-made")
        if event["RequestType"] == "Create"
        else Answer()
    )
    stack = Stack(driver, "failcreate")
    result = stack.create(resource())
    assert result.status == "ROLLBACK_COMPLETE"
    create, rollback = result.outcomes
    assert (create.status, create.reason, create.physical_resource_id) == (
        "FAILED",
        "plan CREATE_FAILED",
        "pp-half-made",
    )
    assert (rollback.phase, rollback.request_type, rollback.status) == ("rollback", "Delete", "SUCCESS")
    assert fake.events[1]["PhysicalResourceId"] == "pp-half-made"
    assert fake.events[1]["ResourceProperties"] == fake.events[0]["ResourceProperties"]
    assert stack.resources == {}


@pytest.mark.parametrize("physical_id", ["", None])
def test_failed_create_without_physical_id_gets_invented_one(
    driver: CloudFormationDriver, fake: FakeFunction, physical_id: str | None
) -> None:
    fake.script = lambda event: (
        Answer(status="FAILED", reason="boom", physical_id=physical_id)
        if event["RequestType"] == "Create"
        else Answer()
    )
    stack = Stack(driver, "invent")
    result = stack.create(resource())
    assert result.status == "ROLLBACK_COMPLETE"
    create = result.outcomes[0]
    assert create.invented_physical_id
    invented = fake.events[1]["PhysicalResourceId"]
    assert invented == create.physical_resource_id
    assert invented.startswith("invent-Plan-")
    assert len(invented) == len("invent-Plan-") + 12


def test_failed_rollback_delete_is_rollback_failed(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    fake.script = lambda event: Answer(status="FAILED", reason="nope")
    stack = Stack(driver, "rbfail")
    assert stack.create(resource()).status == "ROLLBACK_FAILED"


def test_failed_update_rolls_back_with_old_properties(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    def script(event: dict[str, Any]) -> Answer:
        if event["RequestType"] == "Update" and event["ResourceProperties"]["Version"] == "2":
            # a different id on FAILED must not become the resource's id
            return Answer(status="FAILED", reason="plan EXECUTE_FAILED", physical_id="pid-bogus")
        return Answer()

    fake.script = script
    stack = Stack(driver, "failupdate")
    stack.create(resource())
    result = stack.update(resource(properties={"ProductId": "prod-abc", "Version": 2, "Enabled": True}))
    assert result.status == "UPDATE_ROLLBACK_COMPLETE"
    assert [(o.phase, o.request_type, o.status) for o in result.outcomes] == [
        ("update", "Update", "FAILED"),
        ("rollback", "Update", "SUCCESS"),
    ]
    failed, rollback = fake.events[1], fake.events[2]
    assert rollback["PhysicalResourceId"] == "pid-Plan"
    assert rollback["ResourceProperties"] == failed["OldResourceProperties"]
    assert rollback["OldResourceProperties"] == failed["ResourceProperties"]
    assert rollback["ResourceProperties"]["Version"] == "1"
    assert stack.resources["Plan"].physical_resource_id == "pid-Plan"
    assert stack.resources["Plan"].properties["Version"] == 1


def test_failed_update_rollback_failure_is_update_rollback_failed(
    driver: CloudFormationDriver, fake: FakeFunction
) -> None:
    fake.script = lambda event: (
        Answer(status="FAILED", reason="stuck") if event["RequestType"] == "Update" else Answer()
    )
    stack = Stack(driver, "urbfail")
    stack.create(resource())
    result = stack.update(resource(properties={"ProductId": "other"}))
    assert result.status == "UPDATE_ROLLBACK_FAILED"
    assert [o.phase for o in result.outcomes] == ["update", "rollback"]


def test_rollback_of_replaced_sibling_deletes_new_id(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    def script(event: dict[str, Any]) -> Answer:
        if event["RequestType"] == "Update" and event["LogicalResourceId"] == "A":
            return Answer(physical_id="pid-A2")
        if event["RequestType"] == "Update" and event["ResourceProperties"].get("P") == "2":
            return Answer(status="FAILED", reason="B failed")
        return Answer()

    fake.script = script
    stack = Stack(driver, "siblings")
    stack.create(resource("A"), resource("B"))
    result = stack.update(resource("A", properties={"P": 2}), resource("B", properties={"P": 2}))
    assert result.status == "UPDATE_ROLLBACK_COMPLETE"
    assert [(o.phase, o.request_type, o.logical_resource_id, o.physical_resource_id) for o in result.outcomes] == [
        ("update", "Update", "A", "pid-A2"),
        ("update", "Update", "B", "pid-B"),
        ("rollback", "Update", "B", "pid-B"),
        ("rollback-cleanup", "Delete", "A", "pid-A2"),
    ]
    assert stack.resources["A"].physical_resource_id == "pid-A"


def test_delete_skips_retained_resource(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    stack = Stack(driver, "retain")
    stack.create(resource("Kept", deletion_policy="Retain"), resource("Gone"))
    result = stack.delete()
    assert result.status == "DELETE_COMPLETE"
    assert requests_of(fake) == [("Create", "Kept", None), ("Create", "Gone", None), ("Delete", "Gone", "pid-Gone")]
    assert [row.status for row in stack.history][-2:] == ["SUCCESS", "SKIPPED"]


def test_failed_delete_is_delete_failed(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    fake.script = lambda event: Answer(status="FAILED", reason="x") if event["RequestType"] == "Delete" else Answer()
    stack = Stack(driver, "delfail")
    stack.create(resource())
    assert stack.delete().status == "DELETE_FAILED"
    assert "Plan" in stack.resources


# --------------------------------------------------------------------------------------------------
# Timeouts, body validation, retries, duplicates


def test_service_timeout_fails_in_time(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    fake.script = lambda event: None  # never answers
    started = time.monotonic()
    outcome = send_create(driver, 0.5, service_timeout=2)
    elapsed = time.monotonic() - started
    assert outcome.timed_out
    assert outcome.status == "FAILED"
    assert outcome.reason.startswith("CloudFormation did not receive a response from your Custom Resource")
    assert "within the specified timeout" in outcome.reason
    assert outcome.request_id in outcome.reason
    assert 0.5 <= elapsed < 2
    assert outcome.service_timeout == 2


def test_service_timeout_scaled(fake: FakeFunction, tmp_path: Any) -> None:
    fake.script = lambda event: None
    with CloudFormationDriver(fake, tls_dir=tmp_path, time_scale=0.1) as drv:
        stack = Stack(drv, "slow")
        started = time.monotonic()
        result = stack.create(resource(service_timeout=5))
        create = result.outcomes[0]
        assert create.timed_out
        assert 0.5 <= create.seconds < 1.0
        assert result.status == "ROLLBACK_FAILED"  # the rollback Delete times out too
        assert time.monotonic() - started < 2.5


def test_late_answer_after_timeout_is_recorded_not_accepted(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    fake.script = lambda event: Answer(delay=0.6)
    outcome = send_create(driver, 0.2)
    assert outcome.timed_out
    fake.join()
    assert [p.note for p in outcome.puts] == ["late"]


def test_oversized_body_fails_as_too_long(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    fake.script = lambda event: Answer(pad_to=5000) if event["RequestType"] == "Create" else Answer()
    stack = Stack(driver, "toolong")
    result = stack.create(resource())
    create = result.outcomes[0]
    assert len(create.puts[0].body) >= 5000
    assert (create.status, create.reason) == ("FAILED", TOO_LONG_REASON)
    assert result.status == "ROLLBACK_COMPLETE"


def test_body_of_exactly_4096_bytes_is_accepted(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    fake.script = lambda event: Answer(pad_to=4096)
    result = Stack(driver, "edge").create(resource())
    assert len(result.outcomes[0].puts[0].body) == 4096
    assert result.status == "CREATE_COMPLETE"


def test_5xx_injection_is_recorded_and_retry_accepted(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    stack = Stack(driver, "retry")
    result = stack.create(resource(), delivery=Delivery(fail_first_puts=2, fail_status=503))
    assert result.status == "CREATE_COMPLETE"
    fake.join()
    puts = result.outcomes[0].puts
    assert [(p.http_status, p.note) for p in puts] == [(503, "injected-5xx"), (503, "injected-5xx"), (200, "accepted")]
    assert fake.put_statuses == [503, 503, 200]


def test_answering_twice_records_duplicate(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    fake.script = lambda event: Answer(times=2)
    outcome = Stack(driver, "twice").create(resource()).outcomes[0]
    fake.join()
    assert [p.note for p in outcome.puts] == ["accepted", "duplicate"]
    assert outcome.answers == 2


def test_duplicate_delivery_invokes_same_event_twice(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    stack = Stack(driver, "dupe")
    result = stack.create(resource(), delivery=Delivery(times=2, duplicate_delay=0.1))
    time.sleep(0.4)
    fake.join()
    assert len(fake.events) == 2
    assert fake.events[0] == fake.events[1]
    assert fake.events[0] is not fake.events[1]
    assert [p.note for p in result.outcomes[0].puts] == ["accepted", "duplicate"]


def test_invalid_bodies_fail_the_resource() -> None:
    ids = {"stack_id": "s", "request_id": "r", "logical_resource_id": "L"}
    base = {"StackId": "s", "RequestId": "r", "LogicalResourceId": "L", "PhysicalResourceId": "p"}

    def verdict(**body: Any) -> tuple[str, str]:
        v = validate_response_body(json.dumps({**base, **body}).encode(), **ids)
        return v.status, v.reason

    assert verdict(Status="SUCCESS") == ("SUCCESS", "")
    assert verdict(Status="FAILED")[1].endswith("Reason is required when Status is FAILED")
    assert "Status must be" in verdict(Status="OK")[1]
    assert "RequestId does not match" in verdict(Status="SUCCESS", RequestId="other")[1]
    assert "PhysicalResourceId" in verdict(Status="SUCCESS", PhysicalResourceId="")[1]
    assert "PhysicalResourceId" in verdict(Status="SUCCESS", PhysicalResourceId="p" * 1025)[1]
    assert verdict(Status="SUCCESS", PhysicalResourceId="p" * 1024)[0] == "SUCCESS"
    assert "Data" in verdict(Status="SUCCESS", Data=["x"])[1]
    assert verdict(Status="FAILED", Reason="x", PhysicalResourceId="")[0:2] == ("FAILED", "x")
    assert "not valid JSON" in validate_response_body(b"{nope", **ids).reason


def test_wrong_method_and_wrong_signature_are_refused(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    captured: list[dict[str, Any]] = []
    fake.script = capture_only(captured)
    outcome = send_create(driver, 0.3)
    fake.join()
    url = captured[0]["ResponseURL"]
    context = ssl.create_default_context(cafile=str(driver.ca_file))
    with pytest.raises(urllib.error.HTTPError) as post:
        urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), context=context)
    assert post.value.code == 403
    forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    with pytest.raises(urllib.error.HTTPError) as forged_put:
        urllib.request.urlopen(urllib.request.Request(forged, data=b"{}", method="PUT"), context=context)
    assert forged_put.value.code == 403
    assert [(p.method, p.http_status) for p in outcome.puts] == [("POST", 403)]


# --------------------------------------------------------------------------------------------------
# HTTPS with the throwaway CA, and the secret never shows


_CLIENT = """
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method="PUT", headers={"Content-Type": ""})
print(urllib.request.urlopen(req, timeout=10).status)
"""


def test_https_verified_with_ca_via_ssl_cert_file(driver: CloudFormationDriver, fake: FakeFunction) -> None:
    captured: list[dict[str, Any]] = []
    fake.script = capture_only(captured)
    result: dict[str, Any] = {}

    def run() -> None:
        result["outcome"] = send_create(driver, 10, stack="tls")

    sender = threading.Thread(target=run)
    sender.start()
    deadline = time.monotonic() + 5
    while not captured and time.monotonic() < deadline:
        time.sleep(0.01)
    event = captured[0]
    url = event["ResponseURL"]
    body = json.dumps(
        {
            "Status": "SUCCESS",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": "Plan",
            "PhysicalResourceId": "pid-tls",
        }
    )
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    without = subprocess.run(
        [sys.executable, "-c", _CLIENT, url, body], check=False, env=env, capture_output=True, text=True
    )
    assert without.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in without.stderr
    with_ca = subprocess.run(
        [sys.executable, "-c", _CLIENT, url, body],
        check=False,
        env={**env, "SSL_CERT_FILE": str(driver.ca_file)},
        capture_output=True,
        text=True,
    )
    assert with_ca.returncode == 0, with_ca.stderr
    assert with_ca.stdout.strip() == "200"
    sender.join(timeout=15)
    outcome = result["outcome"]
    assert (outcome.status, outcome.physical_resource_id) == ("SUCCESS", "pid-tls")
    # the failed handshake was never recorded as a PUT
    assert [p.note for p in outcome.puts] == ["accepted"]
    # hostname "localhost" is covered by the certificate too
    ctx = ssl.create_default_context(cafile=str(driver.ca_file))
    conn = http.client.HTTPSConnection("localhost", driver.server.port, context=ctx, timeout=5)
    conn.request("GET", "/")
    assert conn.getresponse().status == 403
    conn.close()


def test_secret_never_appears_in_reports(
    driver: CloudFormationDriver, fake: FakeFunction, capfd: pytest.CaptureFixture[str], caplog: Any
) -> None:
    caplog.set_level("DEBUG")
    seen: list[ProgressEvent] = []
    driver.progress = seen.append
    stack = Stack(driver, "secret")
    result = stack.create(resource(), delivery=Delivery(fail_first_puts=1))
    stack.delete()
    secret = fake.events[0]["ResponseURL"].split("X-Amz-Signature=")[1]
    assert len(secret) == 64
    texts = [
        stack.summary(),
        repr(result),
        repr(stack.history),
        *(e.message for e in seen),
        caplog.text,
        *capfd.readouterr(),
    ]
    assert all(secret not in text for text in texts)
    assert {e.stack_status for e in seen if e.kind == "stack-status"} >= {"CREATE_COMPLETE", "DELETE_COMPLETE"}


def test_close_stops_the_server(fake: FakeFunction, tmp_path: Any) -> None:
    drv = CloudFormationDriver(fake, tls_dir=tmp_path)
    port = drv.server.port
    drv.close()
    drv.close()
    with pytest.raises(OSError):
        http.client.HTTPSConnection("127.0.0.1", port, timeout=1, context=ssl.create_default_context()).connect()


# --------------------------------------------------------------------------------------------------
# CloudFormation's read API: what a function that asks sees while CloudFormation waits for it.


@pytest.fixture
def cfn_api(driver: CloudFormationDriver) -> Iterator[Any]:
    import boto3

    with CloudFormationApiServer(driver.states) as server:
        yield boto3.client(
            "cloudformation",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def test_the_read_api_shows_each_request_in_progress_while_cloudformation_waits(
    driver: CloudFormationDriver, fake: FakeFunction, cfn_api: Any
) -> None:
    seen: list[tuple[str, str, str | None, str]] = []

    def script(event: dict[str, Any]) -> Answer:
        detail = cfn_api.describe_stack_resource(
            StackName=event["StackId"], LogicalResourceId=event["LogicalResourceId"]
        )["StackResourceDetail"]
        (stack,) = cfn_api.describe_stacks(StackName=event["StackId"])["Stacks"]
        assert detail["ResourceType"] == event["ResourceType"] and detail["StackId"] == event["StackId"]
        seen.append(
            (event["RequestType"], detail["ResourceStatus"], detail.get("PhysicalResourceId"), stack["StackStatus"])
        )
        replaced = event["RequestType"] == "Update"
        return Answer(physical_id="pid-new" if replaced else "keep")

    fake.script = script
    stack = Stack(driver, "Reads")
    stack.create(resource())
    stack.update(resource(properties={"ProductId": "prod-other"}))
    stack.delete()
    assert seen == [
        ("Create", "CREATE_IN_PROGRESS", None, "CREATE_IN_PROGRESS"),
        ("Update", "UPDATE_IN_PROGRESS", "pid-Plan", "UPDATE_IN_PROGRESS"),
        # The replaced product's Delete: the resource already shows its new physical id.
        ("Delete", "UPDATE_COMPLETE", "pid-new", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
        ("Delete", "DELETE_IN_PROGRESS", "pid-new", "DELETE_IN_PROGRESS"),
    ]
    (deleted,) = cfn_api.describe_stacks(StackName=stack.stack_id)["Stacks"]
    assert deleted["StackStatus"] == "DELETE_COMPLETE"  # by id, a deleted stack still answers
    with pytest.raises(cfn_api.exceptions.ClientError, match="ValidationError"):
        cfn_api.describe_stacks(StackName="Reads")  # by name, only a live one
    with pytest.raises(cfn_api.exceptions.ClientError, match="Resource Other does not exist"):
        cfn_api.describe_stack_resource(StackName=stack.stack_id, LogicalResourceId="Other")


def test_a_failed_creates_rollback_delete_runs_in_rollback_in_progress(
    driver: CloudFormationDriver, fake: FakeFunction, cfn_api: Any
) -> None:
    seen: list[tuple[str, str, str]] = []

    def script(event: dict[str, Any]) -> Answer:
        detail = cfn_api.describe_stack_resource(
            StackName=event["StackId"], LogicalResourceId=event["LogicalResourceId"]
        )["StackResourceDetail"]
        (stack,) = cfn_api.describe_stacks(StackName=event["StackId"])["Stacks"]
        seen.append((event["RequestType"], detail["ResourceStatus"], stack["StackStatus"]))
        return Answer(status="FAILED", reason="no") if event["RequestType"] == "Create" else Answer()

    fake.script = script
    Stack(driver, "Rolled").create(resource())
    assert seen == [
        ("Create", "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS"),
        ("Delete", "DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"),
    ]
