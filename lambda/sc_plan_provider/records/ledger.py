"""A per-request ledger in DynamoDB: when a request was first seen, who answers it, whether it may act.

CloudFormation and Lambda deliver at least once, continuations can be duplicated or reordered, and
an execution environment can be killed mid-poll. Work is idempotent (Service Catalog tokens), so
several invocations may work on one request; the ledger makes sure that

- only one invocation answers, and only once: the answer is claimed by one Lambda invocation (its
  request id, which Lambda keeps for the retries of that invocation) together with the answer's
  body, so a retry of a killed holder, or the invocation its failed delivery was handed on to,
  re-sends exactly those bytes without redoing the request, while any other delivery finds it
  answered (or being answered) and stops, even when recording the delivered answer failed;
- the request's overall deadline is anchored to its first arrival, whichever invocation runs now;
- a request that CloudFormation has given up on never changes anything: each request registers
  as the latest of its resource, and a request that a later one superseded (CloudFormation moved
  on after a timeout: a rollback, a Delete), or that was already answered, may no longer act;
- a request that started removing a product it created (a failed replacement) keeps doing that
  across continuations instead of reporting the product as if nothing had happened.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from sc_plan_provider.core.value import Value

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from sc_plan_provider.core.request import PlanRequest


class Arrival(Value):
    first_seen: float  # epoch seconds of the request's first arrival
    answered: bool  # answered, or being answered by another invocation: nothing to do
    superseded: bool = False  # a later request of the same resource arrived first
    claimed_body: str = ""  # the answer this holder claimed and may not have delivered: re-send it
    handed_on: int = 0  # the latest hop the request was handed over to (0: never handed over)


class ClaimedAnswer(Value):
    outcome: str  # an AnswerClaim
    body: str = ""  # with GRANTED: the body to send (the one recorded by the holder's first claim)


class AnswerClaim:
    """The outcome of claiming a request's answer (plain strings: an Enum class costs a cold start
    more than the three names are worth)."""

    GRANTED: Final = "granted"  # this invocation answers now
    ANSWERED: Final = "answered"  # another invocation already answered
    BUSY: Final = "busy"  # another invocation is answering (it, or Lambda's retry of it, will finish)


def request_key(request: PlanRequest) -> str:
    return hashlib.sha256(f"{request.stack_id}|{request.logical_resource_id}|{request.request_id}".encode()).hexdigest()


KEY = "RequestKey"
FIRST_SEEN = "FirstSeen"
EVENT_DIGEST = "EventDigest"  # the confirmed event's fingerprint: its re-deliveries need no confirmation
ANSWER = "Answer"
HOLDER = "AnsweredBy"  # the Lambda request id of the invocation that claimed the answer
BODY = "AnswerBody"  # the answer's JSON, recorded with the claim: every re-send is these bytes
HANDED_ON = "HandedOnHop"  # the latest continuation hop the request was handed over to
TERMINATING = "Terminating"  # "<product>|<record>": the terminate record this request started last
CLEANUP_OF = "CleanupOf"  # a product this request is removing instead of reporting it
EXPIRES_AT = "ExpiresAt"  # the table's TTL attribute
LATEST = "LatestRequest"  # on a resource's item: the key of its latest request
LATEST_FIRST_SEEN = "LatestFirstSeen"
RESOURCE_KEY_PREFIX = "resource#"
SENDING = "SENDING"
SENT = "SENT"
# Longer than CloudFormation's longest wait (1 h): afterwards nobody can ask about the request.
RETENTION_SECONDS = 2 * 3600


def latest_request_key(request: PlanRequest) -> str:
    """The key of the resource's own item, which holds its latest request."""
    digest = hashlib.sha256(f"{request.stack_id}|{request.logical_resource_id}".encode()).hexdigest()
    return f"{RESOURCE_KEY_PREFIX}{digest}"


class DynamoDBLedger:
    """The ledger on the table the construct creates (UpdateItem and GetItem only)."""

    durable = True

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def arrive(self, request: PlanRequest, holder: str, first_seen: float | None = None, digest: str = "") -> Arrival:
        now = time.time()
        anchor = now if first_seen is None else min(now, first_seen)
        expires = _number(int(now) + RETENTION_SECONDS)
        item = self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": request_key(request)}},
            UpdateExpression=(
                "SET #first = if_not_exists(#first, :first), #expires = if_not_exists(#expires, :expires), "
                "#digest = if_not_exists(#digest, :digest)"
            ),
            ExpressionAttributeNames={"#first": FIRST_SEEN, "#expires": EXPIRES_AT, "#digest": EVENT_DIGEST},
            ExpressionAttributeValues={":first": _number(anchor), ":expires": expires, ":digest": {"S": digest}},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        # The carried anchor wins when the ledger's first write failed and a continuation made the item.
        first = min(float(item[FIRST_SEEN]["N"]), anchor)
        answered = _answered_by_another(item, holder)
        claimed = _text(item, BODY) if _being_answered_by(item, holder) else ""
        superseded = not claimed and not self._register_latest(request, first, expires)
        handed_on = int(item.get(HANDED_ON, {}).get("N", "0"))
        return Arrival(first, answered, superseded=superseded, claimed_body=claimed, handed_on=handed_on)

    def _register_latest(self, request: PlanRequest, first_seen: float, expires: dict[str, str]) -> bool:
        """Make the request its resource's latest unless a later one is; False when superseded."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": latest_request_key(request)}},
                UpdateExpression="SET #latest = :me, #seen = :seen, #expires = :expires",
                ConditionExpression="attribute_not_exists(#latest) OR #latest = :me OR #seen < :seen",
                ExpressionAttributeNames={"#latest": LATEST, "#seen": LATEST_FIRST_SEEN, "#expires": EXPIRES_AT},
                ExpressionAttributeValues={
                    ":me": {"S": request_key(request)},
                    ":seen": _number(first_seen),
                    ":expires": expires,
                },
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def event_digest(self, request: PlanRequest) -> str | None:
        value = self._get(request_key(request)).get(EVENT_DIGEST, {}).get("S")
        return str(value) if value else None

    def claim_answer(self, request: PlanRequest, holder: str, body: str) -> ClaimedAnswer:
        try:
            item = self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": request_key(request)}},
                UpdateExpression="SET #answer = :sending, #holder = :holder, #body = if_not_exists(#body, :body)",
                ConditionExpression="attribute_not_exists(#answer) OR (#answer = :sending AND #holder = :holder)",
                ExpressionAttributeNames={"#answer": ANSWER, "#holder": HOLDER, "#body": BODY},
                ExpressionAttributeValues={":sending": {"S": SENDING}, ":holder": {"S": holder}, ":body": {"S": body}},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            item = self._get(request_key(request))
            return ClaimedAnswer(AnswerClaim.ANSWERED if _text(item, ANSWER) == SENT else AnswerClaim.BUSY)
        return ClaimedAnswer(AnswerClaim.GRANTED, _text(item, BODY) or body)

    def answered(self, request: PlanRequest) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": request_key(request)}},
            UpdateExpression="SET #answer = :sent",
            ExpressionAttributeNames={"#answer": ANSWER},
            ExpressionAttributeValues={":sent": {"S": SENT}},
        )

    def may_act(self, request: PlanRequest, holder: str = "") -> bool:
        item = self._get(request_key(request))
        if ANSWER in item:
            return bool(holder) and _being_answered_by(item, holder)
        return not self.superseded(request)

    def superseded(self, request: PlanRequest) -> bool:
        if ANSWER in self._get(request_key(request)):
            return False  # answered (by a duplicate delivery, say): the answer holds the resource
        latest = self._get(latest_request_key(request)).get(LATEST, {}).get("S")
        return latest not in (None, request_key(request))

    def handed_over(self, request: PlanRequest, hop: int) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": request_key(request)}},
                UpdateExpression="SET #hop = :hop",
                ConditionExpression="attribute_not_exists(#hop) OR #hop < :hop",
                ExpressionAttributeNames={"#hop": HANDED_ON},
                ExpressionAttributeValues={":hop": _number(hop)},
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise

    def start_cleanup(self, request: PlanRequest, provisioned_product_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": request_key(request)}},
            UpdateExpression="SET #cleanup = :product",
            ExpressionAttributeNames={"#cleanup": CLEANUP_OF},
            ExpressionAttributeValues={":product": {"S": provisioned_product_id}},
        )

    def cleanup_of(self, request: PlanRequest) -> str | None:
        value = self._get(request_key(request)).get(CLEANUP_OF, {}).get("S")
        return str(value) if value else None

    def terminating(self, request: PlanRequest, provisioned_product_id: str, record_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": request_key(request)}},
            UpdateExpression="SET #terminating = :record",
            ExpressionAttributeNames={"#terminating": TERMINATING},
            ExpressionAttributeValues={":record": {"S": f"{provisioned_product_id}|{record_id}"}},
        )

    def terminate_record(self, request: PlanRequest, provisioned_product_id: str) -> str | None:
        product, _, record = _text(self._get(request_key(request)), TERMINATING).partition("|")
        return record if product == provisioned_product_id and record else None

    def _get(self, key: str) -> dict[str, Any]:
        item: dict[str, Any] = self._client.get_item(
            TableName=self._table, Key={KEY: {"S": key}}, ConsistentRead=True
        ).get("Item", {})
        return item


def _being_answered_by(item: dict[str, Any], holder: str) -> bool:
    return bool(item.get(ANSWER, {}).get("S") == SENDING and item.get(HOLDER, {}).get("S") == holder)


def _answered_by_another(item: dict[str, Any], holder: str) -> bool:
    state = item.get(ANSWER, {}).get("S")
    return bool(state == SENT or (state == SENDING and item.get(HOLDER, {}).get("S") != holder))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _text(item: dict[str, Any], name: str) -> str:
    return str(item.get(name, {}).get("S", ""))


def _number(value: float) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}
