"""Hand-over at the function's own deadline (with a durable ledger), and its failure path."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.stub import Stubber

from sc_plan_provider import handler
from sc_plan_provider.core.request import CONTINUATION_KEY, carried_hop
from sc_plan_provider.records.in_process import InProcessLedger
from sc_plan_provider.runtime import handover
from support import sc_stubs as sc
from support.cfn_requests import Answers, FakeContext, invoke, make_event

FAST = {"PollingIntervalSeconds": "0.1", "PollingBackoffRate": "1", "PollingMaxIntervalSeconds": "0.1"}


class DurableLedger(InProcessLedger):
    """Stands in for the DynamoDB ledger: what makes continuation possible is durability."""

    durable = True


@pytest.fixture
def durable(monkeypatch: pytest.MonkeyPatch) -> DurableLedger:
    ledger = DurableLedger()
    monkeypatch.setattr(handler.helper, "_ledger", lambda: ledger)
    return ledger


def still_provisioning(stub: Stubber) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    for _ in range(40):
        sc.describe_record(stub, "IN_PROGRESS")


def test_near_its_deadline_the_function_hands_over_without_answering(
    stub: Stubber, answers: Answers, durable: DurableLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[tuple[dict[str, Any], str]] = []
    monkeypatch.setattr(
        handover, "invoke_continuation", lambda arn, payload, **_: handed.append((json.loads(payload), arn))
    )
    still_provisioning(stub)
    event = make_event("Create", {"PlanId": sc.PLAN_ID, **FAST})
    context = FakeContext(timeout_seconds=2.5)
    invoke(event, context)
    assert answers.bodies == []
    ((sent_event, arn),) = handed
    assert arn == context.invoked_function_arn
    assert sent_event["RequestId"] == event["RequestId"]
    assert context.get_remaining_time_in_millis() > 0
    stub._queue.clear()


def test_a_failed_hand_over_is_a_clear_failure_not_silence(
    stub: Stubber, answers: Answers, durable: DurableLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(arn: str, payload: bytes, **_: Any) -> None:
        raise RuntimeError("AccessDeniedException: not allowed to invoke")

    monkeypatch.setattr(handover, "invoke_continuation", refuse)
    still_provisioning(stub)
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID, **FAST}), FakeContext(timeout_seconds=2.5))
    body = answers.only
    assert body["Status"] == "FAILED"
    assert "could not hand the request over to a new invocation: AccessDeniedException" in body["Reason"]
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID
    stub._queue.clear()


def test_hops_are_counted_in_the_event() -> None:
    assert carried_hop({}) == 0
    assert carried_hop({CONTINUATION_KEY: {"Hop": 3}}) == 3


class BrokenLedger(InProcessLedger):
    """DynamoDB down: every ledger call fails."""

    durable = True

    def arrive(self, request: Any, holder: str, first_seen: float | None = None, digest: str = "") -> Any:
        raise RuntimeError("ProvisionedThroughputExceededException")

    def event_digest(self, request: Any) -> Any:
        raise RuntimeError("ProvisionedThroughputExceededException")

    def claim_answer(self, request: Any, holder: str, body: str) -> Any:
        raise RuntimeError("ProvisionedThroughputExceededException")

    def answered(self, request: Any) -> None:
        raise RuntimeError("ProvisionedThroughputExceededException")


def test_an_unavailable_ledger_never_turns_into_silence(
    stub: Stubber, answers: Answers, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = BrokenLedger()
    monkeypatch.setattr(handler.helper, "_ledger", lambda: ledger)
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    sc.describe_record(stub, "SUCCEEDED", outputs={"Name": "b"})
    sc.describe_product(stub, "AVAILABLE")
    invoke(make_event("Create", {"PlanId": sc.PLAN_ID}))
    assert answers.only["Status"] == "SUCCESS"


def _invoke_answers(*codes: str | None) -> tuple[Any, list[float]]:
    """A hand-over client whose Invoke answers the given error codes (None: accepted) in turn."""
    from botocore.exceptions import ClientError

    slept: list[float] = []
    answers = list(codes)

    class Client:
        calls = 0

        def invoke(self, **_: Any) -> dict[str, Any]:
            Client.calls += 1
            code = answers.pop(0)
            if code is not None:
                raise ClientError({"Error": {"Code": code, "Message": code}}, "Invoke")
            return {"StatusCode": 202}

    return Client(), slept


@pytest.mark.parametrize("code", ["TooManyRequestsException", "ServiceException", "ResourceNotFoundException"])
def test_a_hand_over_refused_for_a_moment_is_tried_again(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    client, slept = _invoke_answers(code, code, None)
    monkeypatch.setattr(handover, "handover_lambda_client", lambda: client)
    handover.invoke_continuation("arn", b"{}", hop=1, give_up_at=time.monotonic() + 20, sleep=slept.append)
    assert type(client).calls == 3
    assert slept == [0.25, 0.5]


def test_a_hand_over_stops_trying_while_there_is_time_to_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    client, slept = _invoke_answers("TooManyRequestsException", None)
    monkeypatch.setattr(handover, "handover_lambda_client", lambda: client)
    with pytest.raises(ClientError):  # no room for another attempt before the reserve to answer
        handover.invoke_continuation("arn", b"{}", hop=1, give_up_at=time.monotonic() + 2, sleep=slept.append)
    denied, slept = _invoke_answers("AccessDeniedException", None)
    monkeypatch.setattr(handover, "handover_lambda_client", lambda: denied)
    with pytest.raises(ClientError):  # no retry changes a denial
        handover.invoke_continuation("arn", b"{}", hop=1, give_up_at=time.monotonic() + 20, sleep=slept.append)
    assert slept == []
