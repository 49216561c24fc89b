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
  change summary), which request executed it and its record, written before the plan executes.
  A restore uses it when the plan itself is gone: on the real service an executed plan must be
  deleted before the product's next plan can be created (one plan per provisioned product). The
  parameters may be secrets: the table is encrypted at rest and nothing here is ever logged;
- `resource#<hash of stack id and logical id>`: products this resource created but could not
  remove (a failed replacement whose termination did not finish): its next request retries.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from sc_plan_provider.aws_clients import dynamodb_client
from sc_plan_provider.change_gate import ChangeSummary
from sc_plan_provider.request import PlanRequest
from sc_plan_provider.service_catalog import ProductVersion, ProvisioningParameter
from sc_plan_provider.value import Value

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE_ENV_VAR = "OWNERS_TABLE_NAME"
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
PLAN_ID = "PlanId"
PRODUCT = "ProductId"
ARTIFACT = "ProvisioningArtifactId"
PATH = "PathId"
PARAMETERS = "ProvisioningParameters"
SUMMARY = "Changes"
PLANNED_PRODUCT = "PlannedProductId"  # the plan's provisioned product (the key holds the plan)
EXECUTING_REQUEST = "ExecutingRequest"
RECORD_ID = "RecordId"
EXECUTED_AT = "ExecutedAt"
ABANDONED = "Abandoned"  # a string set of pp- ids


class Owner(Value):
    stack_id: str
    logical_resource_id: str

    @classmethod
    def of(cls, request: PlanRequest) -> Owner:
        return cls(request.stack_id, request.logical_resource_id)

    def describe(self) -> str:
        return f"resource {self.logical_resource_id} of stack {self.stack_id}"


class Claim(Value):
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


class OwnerRegistry(Protocol):
    def owner(self, provisioned_product_id: str) -> Owner | None:
        """The owner on record, None when the product has none."""
        ...

    def claim(self, provisioned_product_id: str, owner: Owner, request_key: str) -> Claim:
        """Record `owner` unless another owner is on record; the owner on record after the call."""
        ...

    def release(self, provisioned_product_id: str, owner: Owner, request_key: str) -> None:
        """Forget an owner that the request `request_key` recorded (and nothing else)."""
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

    def intend_to_execute(self, applied: AppliedPlan) -> AppliedPlan:
        """Record, before executing, what the plan gives its product and who executes it.

        Returns the record on file after the call: `applied` itself, or the record of the request
        that executed the plan already (an intent without a record is taken over: it never executed).
        """
        ...

    def executed(self, plan_id: str, request_key: str, record_id: str, executed_at: float | None) -> None:
        """The execution's record, once ExecuteProvisionedProductPlan answered."""
        ...

    def applied_plan(self, plan_id: str) -> AppliedPlan | None:
        """The record of a plan's execution, None when the provider never executed it."""
        ...

    def abandon(self, owner: Owner, provisioned_product_id: str) -> None:
        """`owner` created the product but could not remove it: its next request retries."""
        ...

    def abandoned(self, owner: Owner) -> frozenset[str]:
        """Products `owner` still has to remove."""
        ...

    def forget_abandoned(self, owner: Owner, provisioned_product_id: str) -> None:
        """The product was removed after all."""
        ...


def resource_key(owner: Owner) -> str:
    digest = hashlib.sha256(f"{owner.stack_id}|{owner.logical_resource_id}".encode()).hexdigest()[:32]
    return f"{RESOURCE_KEY_PREFIX}{digest}"


def plan_key(plan_id: str) -> str:
    return f"{PLAN_KEY_PREFIX}{plan_id}"


class DynamoDBOwnerRegistry:
    """The records in the provider's owners table (UpdateItem and GetItem only)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def owner(self, provisioned_product_id: str) -> Owner | None:
        item = self._get(provisioned_product_id)
        if STACK_ID not in item:
            return None
        return Owner(item[STACK_ID]["S"], item.get(LOGICAL_RESOURCE_ID, {}).get("S", "?"))

    def claim(self, provisioned_product_id: str, owner: Owner, request_key: str) -> Claim:
        try:
            response = self._client.update_item(
                TableName=self._table,
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
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise OwnershipUnavailableError(str(error)) from error
            recorded = self.owner(provisioned_product_id)
            return Claim(recorded or Owner("?", "?"))
        return Claim(owner, new=STACK_ID not in response.get("Attributes", {}))

    def release(self, provisioned_product_id: str, owner: Owner, request_key: str) -> None:
        self._update(
            provisioned_product_id,
            "REMOVE #stack, #logical, #claimed, #by",
            "#by = :request AND #stack = :stack AND #logical = :logical",
            {"#stack": STACK_ID, "#logical": LOGICAL_RESOURCE_ID, "#claimed": CLAIMED_AT, "#by": CLAIMED_BY},
            {
                ":request": {"S": request_key},
                ":stack": {"S": owner.stack_id},
                ":logical": {"S": owner.logical_resource_id},
            },
            missing_ok=True,
        )

    def terminated(self, provisioned_product_id: str, owner: Owner) -> None:
        now = int(time.time())
        self._update(
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
        self._update(
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
        return frozenset(self._get(provisioned_product_id).get(APPLIED_SPECS, {}).get("SS", []))

    def intend_to_execute(self, applied: AppliedPlan) -> AppliedPlan:
        version = applied.version
        values: dict[str, Any] = {
            ":plan": {"S": applied.plan_id},
            ":product_id": {"S": applied.provisioned_product_id},
            ":product": {"S": version.product_id},
            ":artifact": {"S": version.provisioning_artifact_id},
            ":path": {"S": version.path_id},
            ":parameters": {"L": [_parameter_item(p) for p in version.parameters]},
            ":summary": {"M": {name: {"N": str(count)} for name, count in _summary_counts(applied.summary).items()}},
            ":stack": {"S": applied.owner.stack_id},
            ":logical": {"S": applied.owner.logical_resource_id},
            ":request": {"S": applied.executing_request},
        }
        names = {
            "#plan": PLAN_ID,
            "#product_id": PLANNED_PRODUCT,
            "#product": PRODUCT,
            "#artifact": ARTIFACT,
            "#path": PATH,
            "#parameters": PARAMETERS,
            "#summary": SUMMARY,
            "#stack": STACK_ID,
            "#logical": LOGICAL_RESOURCE_ID,
            "#request": EXECUTING_REQUEST,
        }
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": plan_key(applied.plan_id)}},
                UpdateExpression=(
                    "SET #plan = :plan, #product_id = :product_id, #product = :product, #artifact = :artifact, "
                    "#path = :path, #parameters = :parameters, #summary = :summary, #stack = :stack, "
                    "#logical = :logical, #request = :request"
                ),
                # Another request's intent without a record never executed (it failed before, or its
                # execution was refused): the plan is still to execute, this request takes it over.
                ConditionExpression=(
                    "attribute_not_exists(#request) OR #request = :request OR attribute_not_exists(#record)"
                ),
                ExpressionAttributeNames={**names, "#record": RECORD_ID},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise OwnershipUnavailableError(str(error)) from error
            recorded = self.applied_plan(applied.plan_id)
            if recorded is None:  # pragma: no cover - the condition failed, so the item exists
                raise OwnershipUnavailableError("the plan's record vanished") from error
            return recorded
        return applied

    def executed(self, plan_id: str, request_key: str, record_id: str, executed_at: float | None) -> None:
        values: dict[str, Any] = {":record": {"S": record_id}, ":request": {"S": request_key}}
        expression = "SET #record = :record"
        if executed_at is not None:
            expression += ", #at = :at"
            values[":at"] = {"N": repr(float(executed_at))}
        self._update(
            plan_key(plan_id),
            expression,
            "#request = :request",
            {"#record": RECORD_ID, "#request": EXECUTING_REQUEST, **({"#at": EXECUTED_AT} if executed_at else {})},
            values,
        )

    def applied_plan(self, plan_id: str) -> AppliedPlan | None:
        item = self._get(plan_key(plan_id))
        if EXECUTING_REQUEST not in item:
            return None
        return AppliedPlan(
            plan_id=plan_id,
            provisioned_product_id=_text(item, PLANNED_PRODUCT),
            version=ProductVersion(
                product_id=_text(item, PRODUCT),
                provisioning_artifact_id=_text(item, ARTIFACT),
                path_id=_text(item, PATH),
                parameters=tuple(_parameter(entry.get("M", {})) for entry in item.get(PARAMETERS, {}).get("L", [])),
            ),
            owner=Owner(_text(item, STACK_ID), _text(item, LOGICAL_RESOURCE_ID)),
            executing_request=_text(item, EXECUTING_REQUEST),
            summary=_summary(item.get(SUMMARY, {}).get("M", {})),
            record_id=_text(item, RECORD_ID),
            executed_at=float(item[EXECUTED_AT]["N"]) if EXECUTED_AT in item else None,
        )

    def abandon(self, owner: Owner, provisioned_product_id: str) -> None:
        self._update(
            resource_key(owner),
            "SET #stack = :stack, #logical = :logical ADD #abandoned :product",
            None,
            {"#stack": STACK_ID, "#logical": LOGICAL_RESOURCE_ID, "#abandoned": ABANDONED},
            {
                ":stack": {"S": owner.stack_id},
                ":logical": {"S": owner.logical_resource_id},
                ":product": {"SS": [provisioned_product_id]},
            },
        )

    def abandoned(self, owner: Owner) -> frozenset[str]:
        return frozenset(self._get(resource_key(owner)).get(ABANDONED, {}).get("SS", []))

    def forget_abandoned(self, owner: Owner, provisioned_product_id: str) -> None:
        self._update(
            resource_key(owner),
            "DELETE #abandoned :product",
            None,
            {"#abandoned": ABANDONED},
            {":product": {"SS": [provisioned_product_id]}},
        )

    def _get(self, key: str) -> dict[str, Any]:
        try:
            item: dict[str, Any] = self._client.get_item(
                TableName=self._table, Key={KEY: {"S": key}}, ConsistentRead=True
            ).get("Item", {})
        except ClientError as error:
            raise OwnershipUnavailableError(str(error)) from error
        return item

    def _update(
        self,
        key: str,
        expression: str,
        condition: str | None,
        names: dict[str, str],
        values: dict[str, Any],
        *,
        missing_ok: bool = False,
    ) -> None:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": {KEY: {"S": key}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if condition:
            request["ConditionExpression"] = condition
        try:
            self._client.update_item(**request)
        except ClientError as error:
            if missing_ok and _code(error) == "ConditionalCheckFailedException":
                return
            raise OwnershipUnavailableError(str(error)) from error


class InProcessOwnerRegistry:
    """Without the table (a provider deployed by hand): records live within one warm execution
    environment only. The construct and the packaged template always create the table."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: dict[str, tuple[Owner, str]] = {}
        self._applied: dict[str, set[str]] = {}
        self._plans: dict[str, AppliedPlan] = {}
        self._abandoned: dict[Owner, set[str]] = {}

    def owner(self, provisioned_product_id: str) -> Owner | None:
        with self._lock:
            found = self._owners.get(provisioned_product_id)
            return found[0] if found else None

    def claim(self, provisioned_product_id: str, owner: Owner, request_key: str) -> Claim:
        with self._lock:
            found = self._owners.get(provisioned_product_id)
            if found is None:
                self._owners[provisioned_product_id] = (owner, request_key)
                return Claim(owner, new=True)
            return Claim(found[0])

    def release(self, provisioned_product_id: str, owner: Owner, request_key: str) -> None:
        with self._lock:
            if self._owners.get(provisioned_product_id) == (owner, request_key):
                del self._owners[provisioned_product_id]

    def terminated(self, provisioned_product_id: str, owner: Owner) -> None:
        """Kept: a product id is never reused."""

    def spec_applied(self, provisioned_product_id: str, owner: Owner, digest: str) -> None:
        with self._lock:
            found = self._owners.get(provisioned_product_id)
            if found is not None and found[0] == owner:
                self._applied.setdefault(provisioned_product_id, set()).add(digest)

    def applied_specs(self, provisioned_product_id: str) -> frozenset[str]:
        with self._lock:
            return frozenset(self._applied.get(provisioned_product_id, ()))

    def intend_to_execute(self, applied: AppliedPlan) -> AppliedPlan:
        with self._lock:
            found = self._plans.get(applied.plan_id)
            if found is None or found.executing_request == applied.executing_request or not found.record_id:
                self._plans[applied.plan_id] = applied
                return applied
            return found

    def executed(self, plan_id: str, request_key: str, record_id: str, executed_at: float | None) -> None:
        from sc_plan_provider.value import replace

        with self._lock:
            found = self._plans.get(plan_id)
            if found is not None and found.executing_request == request_key:
                self._plans[plan_id] = replace(found, record_id=record_id, executed_at=executed_at)

    def applied_plan(self, plan_id: str) -> AppliedPlan | None:
        with self._lock:
            return self._plans.get(plan_id)

    def abandon(self, owner: Owner, provisioned_product_id: str) -> None:
        with self._lock:
            self._abandoned.setdefault(owner, set()).add(provisioned_product_id)

    def abandoned(self, owner: Owner) -> frozenset[str]:
        with self._lock:
            return frozenset(self._abandoned.get(owner, ()))

    def forget_abandoned(self, owner: Owner, provisioned_product_id: str) -> None:
        with self._lock:
            self._abandoned.get(owner, set()).discard(provisioned_product_id)


@cache
def default_registry() -> OwnerRegistry:
    table = os.environ.get(TABLE_ENV_VAR)
    if not table:
        return InProcessOwnerRegistry()
    return DynamoDBOwnerRegistry(dynamodb_client(), table)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _text(item: dict[str, Any], name: str) -> str:
    return str(item.get(name, {}).get("S", ""))


def _parameter_item(parameter: ProvisioningParameter) -> dict[str, Any]:
    entry: dict[str, Any] = {"Key": {"S": parameter.key}}
    if parameter.value is not None:
        entry["Value"] = {"S": parameter.value}
    if parameter.use_previous_value:
        entry["UsePreviousValue"] = {"BOOL": True}
    return {"M": entry}


def _parameter(entry: dict[str, Any]) -> ProvisioningParameter:
    value = entry.get("Value", {}).get("S")
    return ProvisioningParameter(
        key=str(entry.get("Key", {}).get("S", "")),
        value=None if value is None else str(value),
        use_previous_value=bool(entry.get("UsePreviousValue", {}).get("BOOL", False)),
    )


def _summary_counts(summary: ChangeSummary) -> dict[str, int]:
    return {"Add": summary.add, "Modify": summary.modify, "Remove": summary.remove, "Replace": summary.replace}


def _summary(counts: dict[str, Any]) -> ChangeSummary:
    def count(name: str) -> int:
        return int(counts.get(name, {}).get("N", "0"))

    return ChangeSummary(add=count("Add"), modify=count("Modify"), remove=count("Remove"), replace=count("Replace"))
