"""The CloudFormation request as this provider sees it, the tokens derived from it, what a
continuation carries with it, and the failure that answers it FAILED.

Tokens come from the request itself (stack, logical id, request id), so a request that Lambda or
CloudFormation delivers twice asks Service Catalog for the same thing twice with the same token, and
Service Catalog answers with the same record instead of executing again.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sc_plan_provider.core.value import Value

# Service Catalog's provisioned product ids look like "pp-abcdefghijklm". Any other physical id
# was never a product: it marks a Create that failed before execution.
PRODUCT_ID_PREFIX = "pp-"
NOT_PROVISIONED_PREFIX = "not-provisioned-"
# Added to the event of a continuation (runtime/handover.py); CloudFormation never sends it.
CONTINUATION_KEY = "ServiceCatalogPlanContinuation"


class PlanRequest(Value):
    """One custom resource request; never holds the ResponseURL (a credential)."""

    request_type: str
    stack_id: str
    request_id: str
    logical_resource_id: str
    physical_resource_id: str
    properties: dict[str, Any]
    old_properties: dict[str, Any]
    resource_type: str = ""

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> PlanRequest:
        """Read the event's fields directly: Powertools' CloudFormationCustomResourceEvent would cost
        its package's ~40 event classes at cold start for seven dictionary reads."""
        return cls(
            request_type=str(event.get("RequestType") or ""),
            stack_id=str(event.get("StackId") or ""),
            request_id=str(event.get("RequestId") or ""),
            logical_resource_id=str(event.get("LogicalResourceId") or ""),
            physical_resource_id=str(event.get("PhysicalResourceId") or ""),
            properties=dict(event.get("ResourceProperties") or {}),
            old_properties=dict(event.get("OldResourceProperties") or {}),
            resource_type=str(event.get("ResourceType") or ""),
        )

    @property
    def is_create(self) -> bool:
        return self.request_type == "Create"

    def token(self, purpose: str, subject: str) -> str:
        """A Service Catalog idempotency/terminate token: 64 hex chars, stable for this request."""
        material = "|".join((self.stack_id, self.logical_resource_id, self.request_id, purpose, subject))
        return hashlib.sha256(material.encode()).hexdigest()

    def not_provisioned_id(self) -> str:
        """The physical id of a Create that failed before any product existed."""
        return f"{NOT_PROVISIONED_PREFIX}{self.logical_resource_id}-{self.request_id[:8]}"


def is_product_id(physical_resource_id: str) -> bool:
    return physical_resource_id.startswith(PRODUCT_ID_PREFIX)


def carried_first_seen(event: dict[str, Any]) -> float | None:
    """The request's first arrival as the continuation carries it (epoch seconds), None from CloudFormation.

    It travels with the request, so the deadline keeps its anchor even when the ledger's first write failed.
    """
    value = continuation(event).get("FirstSeen")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def carried_product_id(event: dict[str, Any]) -> str:
    """The product the request made before it was handed over ("" if none): a failure in the
    continuation answers with it, so the stack holds the product and its rollback removes it."""
    value = continuation(event).get("ProvisionedProductId")
    return value if isinstance(value, str) else ""


def carried_hop(event: dict[str, Any]) -> int:
    """0 for CloudFormation's own delivery, n for the n-th continuation."""
    value = continuation(event).get("Hop", 0)
    return value if isinstance(value, int) else 0


def carried_holder(event: dict[str, Any]) -> str:
    """The invocation that claimed the answer, when its delivery failed and was handed on ("" if
    not): the new invocation answers as that holder, re-sending the recorded body."""
    value = continuation(event).get("AnsweredBy")
    return value if isinstance(value, str) else ""


def event_digest(event: dict[str, Any]) -> str:
    """A fingerprint of the event CloudFormation sent (what a continuation adds left out): every
    delivery of one request has it, another event reusing the request's id has another."""
    sent = {key: value for key, value in event.items() if key != CONTINUATION_KEY}
    return hashlib.sha256(json.dumps(sent, sort_keys=True, default=str).encode()).hexdigest()


def continuation(event: dict[str, Any]) -> dict[str, Any]:
    """What a continuation carries (CONTINUATION_KEY); empty in CloudFormation's own delivery."""
    carried = event.get(CONTINUATION_KEY)
    return carried if isinstance(carried, dict) else {}


class ResourceFailure(Exception):  # noqa: N818 - it is an outcome (a FAILED answer), not a crash
    """Answer FAILED with this reason.

    `physical_resource_id` is set when a provisioned product exists, so that CloudFormation's
    rollback Delete of a failed Create finds it and terminates it (crhelper would otherwise invent a
    random id and the product would leak: docs/facts.md#crhelpers-defects). None keeps the id from
    the request.
    """

    def __init__(self, reason: str, physical_resource_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.physical_resource_id = physical_resource_id
