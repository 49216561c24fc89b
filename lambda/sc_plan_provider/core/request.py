"""The CloudFormation request as this provider sees it, and the tokens derived from it.

Tokens come from the request itself (stack, logical id, request id), so a request that Lambda or
CloudFormation delivers twice asks Service Catalog for the same thing twice with the same token, and
Service Catalog answers with the same record instead of executing again.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sc_plan_provider.core.value import Value

# Service Catalog's provisioned product ids look like "pp-abcdefghijklm". Any other physical id
# was never a product: it marks a Create that failed before execution.
PRODUCT_ID_PREFIX = "pp-"
NOT_PROVISIONED_PREFIX = "not-provisioned-"


class PlanRequest(Value):
    """One custom resource request; never holds the ResponseURL (a credential)."""

    request_type: str
    stack_id: str
    request_id: str
    logical_resource_id: str
    physical_resource_id: str
    properties: dict[str, Any]
    old_properties: dict[str, Any]

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
        )

    def token(self, purpose: str, subject: str) -> str:
        """A Service Catalog idempotency/terminate token: 64 hex chars, stable for this request."""
        material = "|".join((self.stack_id, self.logical_resource_id, self.request_id, purpose, subject))
        return hashlib.sha256(material.encode()).hexdigest()

    def not_provisioned_id(self) -> str:
        """The physical id of a Create that failed before any product existed."""
        return f"{NOT_PROVISIONED_PREFIX}{self.logical_resource_id}-{self.request_id[:8]}"


def is_product_id(physical_resource_id: str) -> bool:
    return physical_resource_id.startswith(PRODUCT_ID_PREFIX)
