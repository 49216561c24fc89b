"""The provider's own records of provisioned products: who owns each, and what each plan gave it.

A shared provider is a deputy: anyone who can deploy a stack in the account can send it a request
naming any `pp-...` id (CloudFormation invokes the function with the deployer's credentials, and a
hand-made event is one Invoke away). So the product a resource provisioned belongs to that
resource, recorded durably before the plan executes, and only that resource's own requests may
change, re-apply or terminate it. A request claims a product only when it is about to act on it,
and a request that then fails without the product becoming its physical id gives the claim back.

A product with no owner on record (provisioned before this provider recorded owners, or after its
table was replaced) is adopted by the first resource whose request acts on it, so a legitimate
owner is never stuck; from then on it is that resource's alone.

Three kinds of items share the owners table (partition key `ProvisionedProductId`):

- `pp-...`: the owner record (stack id + logical id), with the digests of the product specs
  successfully applied to the product (`AppliedSpecs`, spec mode): CloudFormation does not mark a
  rollback Update, so an Update back to a spec the product already had is restored ungated;
- `plan#<plan id>`: what executing that plan gave its product (product, artifact, path, parameters,
  change summary, as JSON), which request executed it and its record, written before it executes.
  A restore uses it when the plan itself is gone: on the real service an executed plan must be
  deleted before the product's next plan can be created (one plan per provisioned product). The
  parameters may be secrets: the table is encrypted at rest and nothing here is ever logged;
- `resource#<hash of stack id and logical id>`: products this resource created but could not
  remove (a failed replacement whose termination did not finish): its next request retries.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sc_plan_provider.core.value import Value
from sc_plan_provider.servicecatalog.shapes import ChangeSummary, ProductVersion, ProvisioningParameter

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from sc_plan_provider.core.request import PlanRequest


class Owner(Value):
    stack_id: str
    logical_resource_id: str

    @classmethod
    def of(cls, request: PlanRequest) -> Owner:
        return cls(request.stack_id, request.logical_resource_id)

    def describe(self) -> str:
        return f"resource {self.logical_resource_id} of stack {self.stack_id}"


class OwnerClaim(Value):
    """The owner on record after a claim, and whether this claim recorded it (a new owner)."""

    owner: Owner
    new: bool = False


class AppliedPlan(Value):
    """What a plan's execution gives its product, and which request executes it."""

    plan_id: str
    provisioned_product_id: str
    version: ProductVersion
    owner: Owner
    executing_request: str
    summary: ChangeSummary = ChangeSummary()
    record_id: str = ""
    executed_at: float | None = None  # epoch seconds: when the execution's record was created


class OwnershipUnavailableError(Exception):
    """The records could not be read or written; nothing may be touched without them."""


KEY = "ProvisionedProductId"
STACK_ID = "StackId"
LOGICAL_RESOURCE_ID = "LogicalResourceId"
CLAIMED_AT = "ClaimedAt"
CLAIMED_BY = "ClaimedBy"  # the request (ledger key) that recorded the owner: only it may release the claim
TERMINATED_AT = "TerminatedAt"
APPLIED_SPECS = "AppliedSpecs"  # a string set of ProductSpec digests
EXPIRES_AT = "ExpiresAt"  # the table's TTL attribute, set only once the product is terminated
# A terminated product's record outlives every retry of its Delete (CloudFormation waits 1 h at most).
TERMINATED_RETENTION_SECONDS = 2 * 3600

PLAN_KEY_PREFIX = "plan#"
RESOURCE_KEY_PREFIX = "resource#"
# What the plan gives its product, as JSON: product, artifact, path, parameters (as submitted, never
# logged), change summary, and the plan's provisioned product (the key holds the plan id).
APPLIED = "Applied"
EXECUTING_REQUEST = "ExecutingRequest"
RECORD_ID = "RecordId"
EXECUTED_AT = "ExecutedAt"


def resource_key(owner: Owner) -> str:
    digest = hashlib.sha256(f"{owner.stack_id}|{owner.logical_resource_id}".encode()).hexdigest()[:32]
    return f"{RESOURCE_KEY_PREFIX}{digest}"


def plan_key(plan_id: str) -> str:
    return f"{PLAN_KEY_PREFIX}{plan_id}"


class DynamoDBOwnerRegistry:
    """The records in the provider's owners table (UpdateItem and GetItem only)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def owner(self, provisioned_product_id: str) -> Owner | None:
        item = self.read(provisioned_product_id)
        if STACK_ID not in item:
            return None
        return Owner(item[STACK_ID]["S"], item.get(LOGICAL_RESOURCE_ID, {}).get("S", "?"))

    def claim(self, provisioned_product_id: str, owner: Owner, request_key: str) -> OwnerClaim:
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key={KEY: {"S": provisioned_product_id}},
                UpdateExpression=(
                    "SET #stack = :stack, #logical = :logical, #claimed = if_not_exists(#claimed, :now), "
                    "#by = if_not_exists(#by, :request)"
                ),
                # An item without an owner (released, or holding only applied specs) can be claimed.
                ConditionExpression="attribute_not_exists(#stack) OR (#stack = :stack AND #logical = :logical)",
                ExpressionAttributeNames={
                    "#stack": STACK_ID,
                    "#logical": LOGICAL_RESOURCE_ID,
                    "#claimed": CLAIMED_AT,
                    "#by": CLAIMED_BY,
                },
                ExpressionAttributeValues={
                    ":stack": {"S": owner.stack_id},
                    ":logical": {"S": owner.logical_resource_id},
                    ":now": {"N": str(int(time.time()))},
                    ":request": {"S": request_key},
                },
                ReturnValues="UPDATED_OLD",
            )
        except (ClientError, BotoCoreError) as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise OwnershipUnavailableError(str(error)) from error
            recorded = self.owner(provisioned_product_id)
            return OwnerClaim(recorded or Owner("?", "?"))
        return OwnerClaim(owner, new=STACK_ID not in response.get("Attributes", {}))

    def terminated(self, provisioned_product_id: str, owner: Owner) -> None:
        now = int(time.time())
        self.write(
            provisioned_product_id,
            "SET #terminated = :now, #expires = :expires",
            "#stack = :stack AND #logical = :logical",
            {"#terminated": TERMINATED_AT, "#expires": EXPIRES_AT, "#stack": STACK_ID, "#logical": LOGICAL_RESOURCE_ID},
            {
                ":now": {"N": str(now)},
                ":expires": {"N": str(now + TERMINATED_RETENTION_SECONDS)},
                ":stack": {"S": owner.stack_id},
                ":logical": {"S": owner.logical_resource_id},
            },
        )

    def spec_applied(self, provisioned_product_id: str, owner: Owner, digest: str) -> None:
        self.write(
            provisioned_product_id,
            "ADD #specs :digest",
            "#stack = :stack AND #logical = :logical",
            {"#specs": APPLIED_SPECS, "#stack": STACK_ID, "#logical": LOGICAL_RESOURCE_ID},
            {
                ":digest": {"SS": [digest]},
                ":stack": {"S": owner.stack_id},
                ":logical": {"S": owner.logical_resource_id},
            },
        )

    def applied_specs(self, provisioned_product_id: str) -> frozenset[str]:
        return frozenset(self.read(provisioned_product_id).get(APPLIED_SPECS, {}).get("SS", []))

    def intend_to_execute(self, applied: AppliedPlan) -> AppliedPlan:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={KEY: {"S": plan_key(applied.plan_id)}},
                UpdateExpression="SET #applied = :applied, #stack = :stack, #logical = :logical, #request = :request",
                # Another request's intent without a record never executed (it failed before, or its
                # execution was refused): the plan is still to execute, this request takes it over.
                ConditionExpression=(
                    "attribute_not_exists(#request) OR #request = :request OR attribute_not_exists(#record)"
                ),
                ExpressionAttributeNames={
                    "#applied": APPLIED,
                    "#stack": STACK_ID,
                    "#logical": LOGICAL_RESOURCE_ID,
                    "#request": EXECUTING_REQUEST,
                    "#record": RECORD_ID,
                },
                ExpressionAttributeValues={
                    ":applied": {"S": _encode_applied(applied)},
                    ":stack": {"S": applied.owner.stack_id},
                    ":logical": {"S": applied.owner.logical_resource_id},
                    ":request": {"S": applied.executing_request},
                },
            )
        except (ClientError, BotoCoreError) as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise OwnershipUnavailableError(str(error)) from error
            recorded = self.applied_plan(applied.plan_id)
            if recorded is None:  # pragma: no cover - the condition failed, so the item exists
                raise OwnershipUnavailableError("the plan's record vanished") from error
            return recorded
        return applied

    def executed(self, plan_id: str, request_key: str, record_id: str, executed_at: float | None) -> None:
        self.write(
            plan_key(plan_id),
            "SET #record = :record, #at = :at",
            "#request = :request",
            {"#record": RECORD_ID, "#request": EXECUTING_REQUEST, "#at": EXECUTED_AT},
            {
                ":record": {"S": record_id},
                ":request": {"S": request_key},
                ":at": {"N": repr(float(executed_at if executed_at is not None else time.time()))},
            },
        )

    def applied_plan(self, plan_id: str) -> AppliedPlan | None:
        item = self.read(plan_key(plan_id))
        if EXECUTING_REQUEST not in item or APPLIED not in item:
            return None
        return decode_applied(
            plan_id,
            item[APPLIED]["S"],
            owner=Owner(_text(item, STACK_ID), _text(item, LOGICAL_RESOURCE_ID)),
            executing_request=_text(item, EXECUTING_REQUEST),
            record_id=_text(item, RECORD_ID),
            executed_at=float(item[EXECUTED_AT]["N"]) if EXECUTED_AT in item else None,
        )

    def read(self, key: str) -> dict[str, Any]:
        """One item of the table (consistent read); empty when there is none."""
        try:
            item: dict[str, Any] = self.client.get_item(
                TableName=self.table_name, Key={KEY: {"S": key}}, ConsistentRead=True
            ).get("Item", {})
        except (ClientError, BotoCoreError) as error:
            raise OwnershipUnavailableError(str(error)) from error
        return item

    def write(
        self,
        key: str,
        expression: str,
        condition: str | None,
        names: dict[str, str],
        values: dict[str, Any],
        *,
        missing_ok: bool = False,
    ) -> None:
        """One (conditional) UpdateItem; OwnershipUnavailableError when it fails, but for a failed
        condition with `missing_ok`."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {KEY: {"S": key}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if condition:
            request["ConditionExpression"] = condition
        try:
            self.client.update_item(**request)
        except (ClientError, BotoCoreError) as error:
            if missing_ok and _code(error) == "ConditionalCheckFailedException":
                return
            raise OwnershipUnavailableError(str(error)) from error


def _code(error: ClientError | BotoCoreError) -> str:
    """AWS's error code; "" for a call that got no answer (a connection error past botocore's
    retries), which is unavailability like any other."""
    if isinstance(error, BotoCoreError):
        return ""
    return str(error.response.get("Error", {}).get("Code", ""))


def _text(item: dict[str, Any], name: str) -> str:
    return str(item.get(name, {}).get("S", ""))


def _encode_applied(applied: AppliedPlan) -> str:
    version, summary = applied.version, applied.summary
    return json.dumps(
        {
            "ProvisionedProductId": applied.provisioned_product_id,
            "ProductId": version.product_id,
            "ProvisioningArtifactId": version.provisioning_artifact_id,
            "PathId": version.path_id,
            "ProvisioningParameters": [[p.key, p.value, p.use_previous_value] for p in version.parameters],
            "Changes": [summary.add, summary.modify, summary.remove, summary.replace],
        },
        separators=(",", ":"),
    )


def decode_applied(
    plan_id: str, text: str, *, owner: Owner, executing_request: str, record_id: str, executed_at: float | None
) -> AppliedPlan:
    data = json.loads(text)
    add, modify, remove, replace = data["Changes"]
    return AppliedPlan(
        plan_id=plan_id,
        provisioned_product_id=data["ProvisionedProductId"],
        version=ProductVersion(
            product_id=data["ProductId"],
            provisioning_artifact_id=data["ProvisioningArtifactId"],
            path_id=data["PathId"],
            parameters=tuple(ProvisioningParameter(*entry) for entry in data["ProvisioningParameters"]),
        ),
        owner=owner,
        executing_request=executing_request,
        summary=ChangeSummary(add=add, modify=modify, remove=remove, replace=replace),
        record_id=record_id,
        executed_at=executed_at,
    )
