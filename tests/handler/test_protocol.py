"""The protocol layer: one answer, 4096 bytes, no credential in logs, reliable delivery."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from botocore.stub import Stubber

from local_cloud.tls import create_tls_material
from sc_plan_provider import handler
from sc_plan_provider.runtime import delivery
from sc_plan_provider.runtime.delivery import MAX_RESPONSE_BYTES
from sc_plan_provider.runtime.protocol import UndeliveredResponseError
from support import sc_stubs as sc
from support.cfn_requests import SECRET, Answers, FakeContext, invoke, make_event

FAST = {"PollingIntervalSeconds": "0.1", "PollingBackoffRate": "1", "PollingMaxIntervalSeconds": "0.1"}


def succeed_with_outputs(stub: Stubber, outputs: dict[str, str]) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    items = list(outputs.items())
    pages = [dict(items[i : i + 20]) for i in range(0, len(items), 20)] or [{}]
    sc.describe_record(stub, "SUCCEEDED", outputs=pages[0], next_token="p1" if len(pages) > 1 else None)
    sc.describe_product(stub, "AVAILABLE")
    for n, page in enumerate(pages[1:], start=1):
        sc.describe_record(
            stub, "SUCCEEDED", outputs=page, page_token=f"p{n}", next_token=f"p{n + 1}" if n + 1 < len(pages) else None
        )


def test_oversized_outputs_are_cut_to_4096_bytes_keeping_the_ids(
    stub: Stubber, answers: Answers, caplog: pytest.LogCaptureFixture
) -> None:
    outputs = {f"Output{i:03d}": "v" * 100 for i in range(120)}
    succeed_with_outputs(stub, outputs)
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID}))
    body = answers.only
    assert answers.sizes[0] <= MAX_RESPONSE_BYTES
    assert body["Status"] == "SUCCESS"
    assert body["Data"]["ProvisionedProductId"] == sc.PRODUCT_ID
    assert body["Data"]["RecordId"] == sc.RECORD_ID
    kept = {k.removeprefix("Outputs.") for k in body["Data"] if k.startswith("Outputs.")}
    assert 20 < len(kept) < 120
    logged = [record for record in caplog.records if hasattr(record, "left_out")]
    assert len(logged) == 1
    assert set(logged[0].left_out) == {f"Outputs.{k}" for k in outputs} - {f"Outputs.{k}" for k in kept}
    # The stack can show which: a GetAtt of a left-out output would fail there with no other clue.
    # Too many to list within 1000 characters: the first ones, then how many in all.
    left_out = [f"Outputs.{k}" for k in outputs if k not in kept]
    *named, rest = body["Data"]["OutputsLeftOut"].split(",")
    assert named == left_out[: len(named)]
    assert rest == f"... ({len(left_out)} in all)"


def test_a_long_failure_reason_still_fits(stub: Stubber, answers: Answers) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    sc.describe_record(stub, "FAILED", errors=[(f"E{i}", "é" * 400) for i in range(30)])
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID}))
    assert answers.only["Status"] == "FAILED"
    assert answers.sizes[0] <= MAX_RESPONSE_BYTES


def test_logs_never_contain_the_response_url(stub: Stubber, answers: Answers, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    succeed_with_outputs(stub, {"Name": "bucket"})
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID}))
    event = make_event("Create", {"PlanId": "bad id"})
    invoke(event)
    assert handler.logger.get_correlation_id() == event["RequestId"]
    everything = "\n".join(str(record.__dict__) for record in caplog.records)
    assert "Request received" in everything  # the logs were captured at all
    assert SECRET not in everything
    assert "ResponseURL" not in everything


def test_watchdog_and_handler_never_both_answer(stub: Stubber, answers: Answers) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    sc.describe_record(stub, "IN_PROGRESS")
    # Service Catalog hangs past the Lambda deadline: crhelper's watchdog (0.5 s before it) answers.
    stub.client.meta.events.register(
        "before-parameter-build.service-catalog.DescribeRecord", lambda **_: time.sleep(2.0)
    )
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID, **FAST}), FakeContext(timeout_seconds=2.0))
    body = answers.only
    assert body["Status"] == "FAILED"
    assert "reached its Lambda timeout" in body["Reason"]
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID  # noted as soon as the plan executed


class ScriptedResponseHandler(http.server.BaseHTTPRequestHandler):
    statuses: ClassVar[list[int]] = []
    bodies: ClassVar[list[bytes]] = []

    def do_PUT(self) -> None:
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        status = self.statuses.pop(0) if self.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def https_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    tls = create_tls_material(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ScriptedResponseHandler)
    server.socket = tls.server_context().wrap_socket(server.socket, server_side=True)
    ScriptedResponseHandler.statuses, ScriptedResponseHandler.bodies = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/bucket/key?{SECRET}"
    server.shutdown()


def test_delivery_retries_until_a_2xx(https_endpoint: str) -> None:
    ScriptedResponseHandler.statuses = [500, 503, 200]
    sleeps: list[float] = []
    attempts = delivery.put_response(https_endpoint, b"{}", give_up_at=1e12, sleep=sleeps.append)
    assert attempts == 3
    assert sleeps == [0.5, 1.0]
    assert len(ScriptedResponseHandler.bodies) == 3


def test_undelivered_answer_fails_the_invocation_so_lambda_retries(
    stub: Stubber, https_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    ScriptedResponseHandler.statuses = [500] * 100
    event = make_event("Create", {"PlanId": "bad id"})
    event["ResponseURL"] = https_endpoint
    with pytest.raises(UndeliveredResponseError, match="HTTP 500"):
        handler.lambda_handler(event, FakeContext(timeout_seconds=3.0))
    assert 2 <= len(ScriptedResponseHandler.bodies) <= 5
    assert SECRET not in "\n".join(str(record.__dict__) for record in caplog.records)


def test_delivery_reaches_a_real_https_endpoint_through_the_handler(stub: Stubber, https_endpoint: str) -> None:
    event = make_event("Create", {"PlanId": "bad id"})
    event["ResponseURL"] = https_endpoint
    handler.lambda_handler(event, FakeContext())
    (body,) = ScriptedResponseHandler.bodies
    answer = json.loads(body)
    assert answer["Status"] == "FAILED"
    assert answer["RequestId"] == event["RequestId"]


def test_an_event_that_is_not_a_cloudformation_request_fails_the_invocation(stub: Stubber, answers: Answers) -> None:
    with pytest.raises(ValueError, match="missing ResponseURL, StackId, RequestId, LogicalResourceId"):
        handler.lambda_handler({"RequestType": "Create"}, FakeContext())
    assert answers.bodies == []
