"""The request ledger on DynamoDB (the local cloud's): first arrival kept, one answer granted."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from local_cloud.dynamodb import LocalDynamoDB
from sc_plan_provider.request import PlanRequest
from sc_plan_provider.request_ledger import Claim, DynamoDBLedger
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
    first = ledger.arrive(req)
    time.sleep(0.05)
    again = ledger.arrive(req)
    assert again.first_seen == first.first_seen
    assert not again.answered
    assert ledger.arrive(request()).first_seen > first.first_seen  # another request, its own clock


def test_one_claim_wins_until_answered_or_released(ledger: DynamoDBLedger) -> None:
    req = request()
    ledger.arrive(req)
    assert ledger.claim_answer(req, lease_seconds=60) is Claim.GRANTED
    assert ledger.claim_answer(req, lease_seconds=60) is Claim.BUSY
    ledger.release(req)  # delivery failed: Lambda's retry must be able to answer
    assert ledger.claim_answer(req, lease_seconds=60) is Claim.GRANTED
    ledger.answered(req)
    assert ledger.claim_answer(req, lease_seconds=60) is Claim.ANSWERED
    assert ledger.arrive(req).answered


def test_a_dead_holders_claim_expires(ledger: DynamoDBLedger) -> None:
    req = request()
    assert ledger.claim_answer(req, lease_seconds=0.2) is Claim.GRANTED
    time.sleep(0.3)
    assert ledger.claim_answer(req, lease_seconds=60) is Claim.GRANTED


def test_racing_invocations_get_exactly_one_grant(dynamodb: LocalDynamoDB, ledger: DynamoDBLedger) -> None:
    req = request()
    results: list[Claim] = []
    barrier = threading.Barrier(10)

    def claim() -> None:
        barrier.wait()
        results.append(ledger.claim_answer(req, lease_seconds=60))

    threads = [threading.Thread(target=claim) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results.count(Claim.GRANTED) == 1
    assert results.count(Claim.BUSY) == 9
