"""Who owns a provisioned product: the stack and logical id of the resource that provisioned it.

A shared provider is a deputy: anyone who can deploy a stack in the account can send it a request
naming any `pp-...` id (CloudFormation invokes the function with the deployer's credentials, and a
hand-made event is one Invoke away). So the product a resource provisioned belongs to that
resource, recorded durably before the plan executes, and only that resource's own requests may
change, re-apply or terminate it.

A product with no owner on record (provisioned before this provider recorded owners, or after its
table was replaced) is adopted by the first resource whose request names it, so a legitimate owner
is never stuck; from then on it is that resource's alone.

The record also keeps the digests of the product specs successfully applied to the product
(`AppliedSpecs`, spec mode): CloudFormation does not mark a rollback Update, so an Update back to
a spec the product already had is recognised here and restored without the change gate.
"""

from __future__ import annotations

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

TABLE_ENV_VAR = "OWNERS_TABLE_NAME"
KEY = "ProvisionedProductId"
STACK_ID = "StackId"
LOGICAL_RESOURCE_ID = "LogicalResourceId"
CLAIMED_AT = "ClaimedAt"
TERMINATED_AT = "TerminatedAt"
APPLIED_SPECS = "AppliedSpecs"  # a string set of ProductSpec digests
EXPIRES_AT = "ExpiresAt"  # the table's TTL attribute, set only once the product is terminated
# A terminated product's record outlives every retry of its Delete (CloudFormation waits 1 h at most).
TERMINATED_RETENTION_SECONDS = 2 * 3600


class Owner(Value):
    stack_id: str
    logical_resource_id: str

    @classmethod
    def of(cls, request: PlanRequest) -> Owner:
        return cls(request.stack_id, request.logical_resource_id)

    def describe(self) -> str:
        return f"resource {self.logical_resource_id} of stack {self.stack_id}"


class OwnershipUnavailableError(Exception):
    """The owner record could not be read or written; nothing may be touched without it."""


class OwnerRegistry(Protocol):
    def claim(self, provisioned_product_id: str, owner: Owner) -> Owner:
        """Record `owner` unless another owner is on record; return the owner on record after the call."""
        ...

    def terminated(self, provisioned_product_id: str, owner: Owner) -> None:
        """The product is gone: let its record expire (after any retry of the Delete could ask)."""
        ...

    def spec_applied(self, provisioned_product_id: str, owner: Owner, digest: str) -> None:
        """The owner's product now runs the spec with this digest (spec mode)."""
        ...

    def applied_specs(self, provisioned_product_id: str) -> frozenset[str]:
        """Digests of every spec ever applied to the product; empty when none is on record."""
        ...


class DynamoDBOwnerRegistry:
    """Owner records in the provider's owners table (UpdateItem and GetItem only)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def claim(self, provisioned_product_id: str, owner: Owner) -> Owner:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": provisioned_product_id}},
                UpdateExpression="SET #stack = :stack, #logical = :logical, #claimed = if_not_exists(#claimed, :now)",
                ConditionExpression="attribute_not_exists(#key) OR (#stack = :stack AND #logical = :logical)",
                ExpressionAttributeNames={
                    "#key": KEY,
                    "#stack": STACK_ID,
                    "#logical": LOGICAL_RESOURCE_ID,
                    "#claimed": CLAIMED_AT,
                },
                ExpressionAttributeValues={
                    ":stack": {"S": owner.stack_id},
                    ":logical": {"S": owner.logical_resource_id},
                    ":now": {"N": str(int(time.time()))},
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise OwnershipUnavailableError(str(error)) from error
            return self._recorded(provisioned_product_id)
        return owner

    def terminated(self, provisioned_product_id: str, owner: Owner) -> None:
        now = int(time.time())
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": provisioned_product_id}},
                UpdateExpression="SET #terminated = :now, #expires = :expires",
                ConditionExpression="#stack = :stack AND #logical = :logical",
                ExpressionAttributeNames={
                    "#terminated": TERMINATED_AT,
                    "#expires": EXPIRES_AT,
                    "#stack": STACK_ID,
                    "#logical": LOGICAL_RESOURCE_ID,
                },
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":expires": {"N": str(now + TERMINATED_RETENTION_SECONDS)},
                    ":stack": {"S": owner.stack_id},
                    ":logical": {"S": owner.logical_resource_id},
                },
            )
        except ClientError as error:
            raise OwnershipUnavailableError(str(error)) from error

    def spec_applied(self, provisioned_product_id: str, owner: Owner, digest: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": provisioned_product_id}},
                UpdateExpression="ADD #specs :digest",
                ConditionExpression="#stack = :stack AND #logical = :logical",
                ExpressionAttributeNames={"#specs": APPLIED_SPECS, "#stack": STACK_ID, "#logical": LOGICAL_RESOURCE_ID},
                ExpressionAttributeValues={
                    ":digest": {"SS": [digest]},
                    ":stack": {"S": owner.stack_id},
                    ":logical": {"S": owner.logical_resource_id},
                },
            )
        except ClientError as error:
            raise OwnershipUnavailableError(str(error)) from error

    def applied_specs(self, provisioned_product_id: str) -> frozenset[str]:
        try:
            item = self._client.get_item(
                TableName=self._table,
                Key={KEY: {"S": provisioned_product_id}},
                ConsistentRead=True,
                ProjectionExpression="#specs",
                ExpressionAttributeNames={"#specs": APPLIED_SPECS},
            ).get("Item", {})
        except ClientError as error:
            raise OwnershipUnavailableError(str(error)) from error
        return frozenset(item.get(APPLIED_SPECS, {}).get("SS", []))

    def _recorded(self, provisioned_product_id: str) -> Owner:
        try:
            item = self._client.get_item(
                TableName=self._table, Key={KEY: {"S": provisioned_product_id}}, ConsistentRead=True
            ).get("Item", {})
        except ClientError as error:
            raise OwnershipUnavailableError(str(error)) from error
        return Owner(item.get(STACK_ID, {}).get("S", "?"), item.get(LOGICAL_RESOURCE_ID, {}).get("S", "?"))


class InProcessOwnerRegistry:
    """Without the table (a provider deployed by hand): owners are known within one warm
    execution environment only. The construct and the packaged template always create the table."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: dict[str, Owner] = {}
        self._applied: dict[str, set[str]] = {}

    def claim(self, provisioned_product_id: str, owner: Owner) -> Owner:
        with self._lock:
            return self._owners.setdefault(provisioned_product_id, owner)

    def terminated(self, provisioned_product_id: str, owner: Owner) -> None:
        """Kept: a product id is never reused."""

    def spec_applied(self, provisioned_product_id: str, owner: Owner, digest: str) -> None:
        with self._lock:
            if self._owners.get(provisioned_product_id) == owner:
                self._applied.setdefault(provisioned_product_id, set()).add(digest)

    def applied_specs(self, provisioned_product_id: str) -> frozenset[str]:
        with self._lock:
            return frozenset(self._applied.get(provisioned_product_id, ()))


@cache
def default_registry() -> OwnerRegistry:
    table = os.environ.get(TABLE_ENV_VAR)
    if not table:
        return InProcessOwnerRegistry()
    return DynamoDBOwnerRegistry(dynamodb_client(), table)
