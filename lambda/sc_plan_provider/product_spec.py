"""The product a resource declares instead of a plan id: what CreateProvisionedProductPlan needs.

A resource gives either `PlanId` (a reviewed plan made elsewhere) or a product spec, the same
properties the native `AWS::ServiceCatalog::CloudFormationProvisionedProduct` takes. Like every
property, the spec is checked here, before any Service Catalog call, and by the construct at synth
time; limits are botocore's model's (CreateProvisionedProductPlan's input shapes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sc_plan_provider.value import Value

PRODUCT_ID = "ProductId"
PROVISIONING_ARTIFACT_ID = "ProvisioningArtifactId"
PATH_ID = "PathId"
PROVISIONED_PRODUCT_NAME = "ProvisionedProductName"
PROVISIONING_PARAMETERS = "ProvisioningParameters"
TAGS = "Tags"
NOTIFICATION_ARNS = "NotificationArns"

REQUIRED_SPEC_PROPERTIES = (PRODUCT_ID, PROVISIONING_ARTIFACT_ID, PROVISIONED_PRODUCT_NAME)
SPEC_PROPERTIES = (
    PRODUCT_ID,
    PROVISIONING_ARTIFACT_ID,
    PATH_ID,
    PROVISIONED_PRODUCT_NAME,
    PROVISIONING_PARAMETERS,
    TAGS,
    NOTIFICATION_ARNS,
)

TAG_PUNCTUATION = frozenset("_.:/=+-@")
MAX_PARAMETER_KEY = 1000
MAX_PARAMETER_VALUE = 4096
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_NOTIFICATION_ARNS = 5


class ProductSpec(Value):
    """What to provision: product, version, launch path, name, parameters, tags, notifications."""

    product_id: str
    provisioning_artifact_id: str
    provisioned_product_name: str
    path_id: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    notification_arns: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        product_id: str,
        provisioning_artifact_id: str,
        provisioned_product_name: str,
        parameters: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        notification_arns: Sequence[str] | None = None,
        path_id: str | None = None,
    ) -> ProductSpec:
        """Build a spec from plain dicts (the construct's way in); values may be CDK tokens.

        Nothing is validated here: `parse_product_spec` checks the properties this spec renders to.
        """
        return cls(
            product_id=product_id,
            provisioning_artifact_id=provisioning_artifact_id,
            provisioned_product_name=provisioned_product_name,
            path_id=path_id,
            parameters=tuple((parameters or {}).items()),
            tags=tuple((tags or {}).items()),
            notification_arns=tuple(notification_arns or ()),
        )

    def is_new_product_of(self, old: ProductSpec) -> bool:
        """A new name or product means another provisioned product (CloudFormation replaces)."""
        return (self.provisioned_product_name, self.product_id) != (old.provisioned_product_name, old.product_id)

    def digest(self) -> str:
        """A stable fingerprint of what reaches Service Catalog (order of parameters and tags aside).

        Equal digests mean the same request to Service Catalog: the plan's idempotency token and the
        owner record's applied specs (the restore rule) are keyed by it.
        """
        canonical = {
            PRODUCT_ID: self.product_id,
            PROVISIONING_ARTIFACT_ID: self.provisioning_artifact_id,
            PATH_ID: self.path_id,
            PROVISIONED_PRODUCT_NAME: self.provisioned_product_name,
            PROVISIONING_PARAMETERS: sorted(self.parameters),
            TAGS: sorted(self.tags),
            NOTIFICATION_ARNS: sorted(self.notification_arns),
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()

    def as_properties(self) -> dict[str, object]:
        """The custom resource properties, in the native CloudFormationProvisionedProduct's shapes."""
        properties: dict[str, object] = {
            PRODUCT_ID: self.product_id,
            PROVISIONING_ARTIFACT_ID: self.provisioning_artifact_id,
            PROVISIONED_PRODUCT_NAME: self.provisioned_product_name,
        }
        if self.path_id is not None:
            properties[PATH_ID] = self.path_id
        if self.parameters:
            properties[PROVISIONING_PARAMETERS] = [{"Key": k, "Value": v} for k, v in self.parameters]
        if self.tags:
            properties[TAGS] = [{"Key": k, "Value": v} for k, v in self.tags]
        if self.notification_arns:
            properties[NOTIFICATION_ARNS] = list(self.notification_arns)
        return properties


def declares_spec(raw: Mapping[str, Any]) -> bool:
    return any(given(raw.get(name)) for name in SPEC_PROPERTIES)


def parse_product_spec(raw: Mapping[str, Any]) -> ProductSpec:
    """Validate the spec properties of `ResourceProperties` (the caller knows a spec is declared).

    The checks live in product_spec_validation.py, loaded only for a resource that declares a spec."""
    from sc_plan_provider.product_spec_validation import validated_spec

    return validated_spec(raw)


def given(value: Any) -> bool:
    return value is not None and value not in ("", [])
