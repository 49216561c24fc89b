"""The request ledger on DynamoDB (the local cloud's): first arrival kept, one answer granted."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from local_cloud.dynamodb import LocalDynamoDB
from sc_plan_provider.core.request import PlanRequest
from sc_plan_provider.records.in_process import InProcessLedger
from sc_plan_provider.records.ledger import AnswerClaim as Claim
from sc_plan_provider.records.ledger import ClaimedAnswer, DynamoDBLedger
from sc_plan_provider.records.ports import Ledger
from support.cfn_requests import make_event

TABLE = {
    "Resources": {
        "Requests": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "KeySchema": [{"AttributeName": "RequestKey", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "RequestKey", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        }
    }
}


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[LocalDynamoDB]:
    with LocalDynamoDB() as local:
        yield local


@pytest.fixture
def ledger(dynamodb: LocalDynamoDB) -> DynamoDBLedger:
    tables = dynamodb.create_tables_from_template(TABLE, f"s{uuid.uuid4().hex[:8]}")
    return DynamoDBLedger(dynamodb.client(), tables["Requests"])


def request() -> PlanRequest:
    return PlanRequest.from_event(make_event("Create", {"PlanId": "p"}))


def test_first_arrival_is_kept_across_deliveries(ledger: DynamoDBLedger) -> None:
    req = request()
    first = ledger.arrive(req, "invocation-1")
    time.sleep(0.05)
    again = ledger.arrive(req, "invocation-2")
    assert again.first_seen == first.first_seen
    assert not again.answered
    assert ledger.arrive(request(), "invocation-3").first_seen > first.first_seen  # another request, its own clock


def test_the_anchor_a_continuation_carries_wins_over_a_later_first_write(ledger: DynamoDBLedger) -> None:
    req = request()
    carried = time.time() - 600  # the first write failed; the continuation carries the real first arrival
    assert ledger.arrive(req, "invocation-1", carried).first_seen == carried


@pytest.mark.parametrize("durable", [True, False], ids=["dynamodb", "in-process"])
def test_one_invocation_holds_the_answer_with_its_body_until_answered(ledger: DynamoDBLedger, durable: bool) -> None:
    book: Ledger = ledger if durable else InProcessLedger()
    req = request()
    book.arrive(req, "invocation-1")
    assert book.claim_answer(req, "invocation-1", '{"Status":"SUCCESS"}') == ClaimedAnswer(
        Claim.GRANTED, '{"Status":"SUCCESS"}'
    )
    assert book.claim_answer(req, "invocation-2", '{"Status":"FAILED"}').outcome == Claim.BUSY  # never a second
    # Lambda's retry of the holder (or its delivery handed on) gets the body recorded first, not a new one.
    assert book.claim_answer(req, "invocation-1", '{"Status":"FAILED"}') == ClaimedAnswer(
        Claim.GRANTED, '{"Status":"SUCCESS"}'
    )
    assert book.arrive(req, "invocation-2").answered  # being answered: a later delivery does nothing
    retry = book.arrive(req, "invocation-1")
    assert not retry.answered
    assert retry.claimed_body == '{"Status":"SUCCESS"}'  # the holder re-sends it without redoing the request
    book.answered(req)
    assert book.claim_answer(req, "invocation-3", "{}").outcome == Claim.ANSWERED
    assert book.arrive(req, "invocation-1").answered
    assert not hasattr(book, "release")  # a claim is never given back: its holder delivers it


def test_racing_invocations_get_exactly_one_grant(dynamodb: LocalDynamoDB, ledger: DynamoDBLedger) -> None:
    req = request()
    results: list[str] = []
    barrier = threading.Barrier(10)

    def claim(holder: str) -> None:
        barrier.wait()
        results.append(ledger.claim_answer(req, holder, f'{{"by":"{holder}"}}').outcome)

    threads = [threading.Thread(target=claim, args=(f"invocation-{n}",)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results.count(Claim.GRANTED) == 1
    assert results.count(Claim.BUSY) == 9


def test_a_later_request_of_the_resource_supersedes_an_earlier_one(ledger: DynamoDBLedger) -> None:
    forward = request()
    assert not ledger.arrive(forward, "invocation-1").superseded
    assert ledger.may_act(forward)
    time.sleep(0.01)
    rollback = PlanRequest.from_event(make_event("Update", {"PlanId": "p"}, physical_id="pp-1"))
    assert not ledger.arrive(rollback, "invocation-2").superseded
    assert ledger.may_act(rollback)
    assert not ledger.may_act(forward)  # CloudFormation moved on: the forward request changes nothing
    assert ledger.arrive(forward, "invocation-3").superseded  # nor does a late continuation of it


@pytest.mark.parametrize("durable", [True, False], ids=["dynamodb", "in-process"])
def test_an_answered_request_is_never_superseded(ledger: DynamoDBLedger, durable: bool) -> None:
    """A duplicate delivery of a Create still running when the answer its twin sent let CloudFormation
    move on (the next Update arrived): the product is the resource's physical id, never to be undone."""
    book: Ledger = ledger if durable else InProcessLedger()
    create = request()
    book.arrive(create, "invocation-1")
    book.arrive(create, "invocation-2")  # the duplicate, 0.3 s later, before any answer
    assert book.claim_answer(create, "invocation-1", "{}").outcome == Claim.GRANTED
    book.answered(create)
    time.sleep(0.01)
    update = PlanRequest.from_event(make_event("Update", {"PlanId": "p2"}, physical_id="pp-1"))
    book.arrive(update, "invocation-3")
    assert not book.superseded(create)
    assert not book.may_act(create)  # it changes nothing more either


def test_an_unanswered_request_a_later_one_overtook_is_superseded() -> None:
    book = InProcessLedger()
    create = request()
    book.arrive(create, "invocation-1")
    time.sleep(0.01)
    book.arrive(PlanRequest.from_event(make_event("Delete", {"PlanId": "p"}, physical_id="cfn-invented")), "x")
    assert book.superseded(create)
    assert not book.may_act(create)


@pytest.mark.parametrize("durable", [True, False], ids=["dynamodb", "in-process"])
def test_the_retry_of_an_invocation_killed_answering_may_act(ledger: DynamoDBLedger, durable: bool) -> None:
    """Killed after claiming but before recording the delivery: Lambda's retry (same invocation id)
    may act (it re-sends the recorded answer); a duplicate delivery may not."""
    book: Ledger = ledger if durable else InProcessLedger()
    req = request()
    book.arrive(req, "invocation-1")
    assert book.claim_answer(req, "invocation-1", "{}").outcome == Claim.GRANTED
    assert book.may_act(req, "invocation-1")
    assert not book.may_act(req, "invocation-2")
    assert not book.may_act(req)
    book.answered(req)
    assert not book.may_act(req, "invocation-1")


def test_an_answered_request_may_no_longer_act(ledger: DynamoDBLedger) -> None:
    req = request()
    ledger.arrive(req, "invocation-1")
    assert ledger.claim_answer(req, "invocation-1", "{}").outcome == Claim.GRANTED
    assert not ledger.may_act(req)


def test_a_cleanup_is_remembered_across_invocations(ledger: DynamoDBLedger) -> None:
    req = request()
    ledger.arrive(req, "invocation-1")
    assert ledger.cleanup_of(req) is None
    ledger.start_cleanup(req, "pp-new")
    assert ledger.cleanup_of(req) == "pp-new"
