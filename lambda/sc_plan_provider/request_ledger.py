"""A per-request ledger in DynamoDB: when a request was first seen, and who answers it.

CloudFormation and Lambda deliver at least once, continuations can be duplicated or reordered, and
an execution environment can be killed mid-poll. Work is idempotent (Service Catalog tokens), so
several invocations may work on one request; the ledger makes sure only one of them answers, and
anchors the request's overall deadline to its first arrival, whichever invocation runs now.
"""

from __future__ import annotations

import enum
import hashlib
import os
import threading
import time
from functools import cache
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import ClientError

from sc_plan_provider.aws_clients import dynamodb_client
from sc_plan_provider.request import PlanRequest
from sc_plan_provider.value import Value

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE_ENV_VAR = "REQUESTS_TABLE_NAME"
KEY = "RequestKey"
FIRST_SEEN = "FirstSeen"
ANSWER = "Answer"
SENDING_UNTIL = "SendingUntil"
EXPIRES_AT = "ExpiresAt"  # the table's TTL attribute
SENDING = "SENDING"
SENT = "SENT"
# Longer than CloudFormation's longest wait (1 h): afterwards nobody can ask about the request.
RETENTION_SECONDS = 2 * 3600


class Arrival(Value):
    first_seen: float  # epoch seconds of the request's first arrival
    answered: bool


class Claim(enum.Enum):
    GRANTED = "granted"  # this invocation answers now
    ANSWERED = "answered"  # another invocation already answered
    BUSY = "busy"  # another invocation is answering right now


class Ledger(Protocol):
    durable: bool

    def arrive(self, request: PlanRequest) -> Arrival: ...

    def claim_answer(self, request: PlanRequest, lease_seconds: float) -> Claim: ...

    def answered(self, request: PlanRequest) -> None: ...

    def release(self, request: PlanRequest) -> None: ...


def request_key(request: PlanRequest) -> str:
    return hashlib.sha256(f"{request.stack_id}|{request.logical_resource_id}|{request.request_id}".encode()).hexdigest()


class DynamoDBLedger:
    """The ledger on the table the construct creates (UpdateItem and GetItem only)."""

    durable = True

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def arrive(self, request: PlanRequest) -> Arrival:
        now = time.time()
        item = self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": request_key(request)}},
            UpdateExpression="SET #first = if_not_exists(#first, :now), #expires = if_not_exists(#expires, :expires)",
            ExpressionAttributeNames={"#first": FIRST_SEEN, "#expires": EXPIRES_AT},
            ExpressionAttributeValues={":now": _number(now), ":expires": _number(int(now) + RETENTION_SECONDS)},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return Arrival(float(item[FIRST_SEEN]["N"]), item.get(ANSWER, {}).get("S") == SENT)

    def claim_answer(self, request: PlanRequest, lease_seconds: float) -> Claim:
        now = time.time()
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": request_key(request)}},
                UpdateExpression="SET #answer = :sending, #until = :until",
                ConditionExpression="attribute_not_exists(#answer) OR (#answer = :sending AND #until < :now)",
                ExpressionAttributeNames={"#answer": ANSWER, "#until": SENDING_UNTIL},
                ExpressionAttributeValues={
                    ":sending": {"S": SENDING},
                    ":until": _number(now + lease_seconds),
                    ":now": _number(now),
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            item = self._client.get_item(
                TableName=self._table, Key={KEY: {"S": request_key(request)}}, ConsistentRead=True
            ).get("Item", {})
            return Claim.ANSWERED if item.get(ANSWER, {}).get("S") == SENT else Claim.BUSY
        return Claim.GRANTED

    def answered(self, request: PlanRequest) -> None:
        self._set_answer(request, SENT)

    def release(self, request: PlanRequest) -> None:
        """Give the claim back (delivery failed) so the retry of this invocation can answer."""
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": request_key(request)}},
            UpdateExpression="REMOVE #answer, #until",
            ExpressionAttributeNames={"#answer": ANSWER, "#until": SENDING_UNTIL},
        )

    def _set_answer(self, request: PlanRequest, state: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": request_key(request)}},
            UpdateExpression="SET #answer = :state",
            ExpressionAttributeNames={"#answer": ANSWER},
            ExpressionAttributeValues={":state": {"S": state}},
        )


class InProcessLedger:
    """Without the table (a provider deployed by hand): dedupes within one warm environment only,
    and cannot carry a request across invocations, so continuation is off."""

    durable = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first_seen: dict[str, float] = {}
        self._answers: dict[str, str] = {}

    def arrive(self, request: PlanRequest) -> Arrival:
        with self._lock:
            key = request_key(request)
            first = self._first_seen.setdefault(key, time.time())
            return Arrival(first, self._answers.get(key) == SENT)

    def claim_answer(self, request: PlanRequest, lease_seconds: float) -> Claim:
        with self._lock:
            state = self._answers.get(request_key(request))
            if state == SENT:
                return Claim.ANSWERED
            if state == SENDING:
                return Claim.BUSY
            self._answers[request_key(request)] = SENDING
            return Claim.GRANTED

    def answered(self, request: PlanRequest) -> None:
        with self._lock:
            self._answers[request_key(request)] = SENT

    def release(self, request: PlanRequest) -> None:
        with self._lock:
            self._answers.pop(request_key(request), None)


@cache
def default_ledger() -> Ledger:
    table = os.environ.get(TABLE_ENV_VAR)
    if not table:
        return InProcessLedger()
    return DynamoDBLedger(dynamodb_client(), table)


def _number(value: float) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}
