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

from sc_plan_provider.property_values import InvalidPropertyError, is_arn, is_id, is_name, shown
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
    return any(_given(raw.get(name)) for name in SPEC_PROPERTIES)


def parse_product_spec(raw: Mapping[str, Any]) -> ProductSpec:
    """Validate the spec properties of `ResourceProperties` (the caller knows a spec is declared)."""
    missing = [name for name in REQUIRED_SPEC_PROPERTIES if not _given(raw.get(name))]
    if missing:
        raise InvalidPropertyError(
            f"The product spec is incomplete: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
            f"missing. A spec needs {', '.join(REQUIRED_SPEC_PROPERTIES)} (and optionally {PATH_ID}, "
            f"{PROVISIONING_PARAMETERS}, {TAGS}, {NOTIFICATION_ARNS})."
        )
    return ProductSpec(
        product_id=_id(raw, PRODUCT_ID),
        provisioning_artifact_id=_id(raw, PROVISIONING_ARTIFACT_ID),
        provisioned_product_name=_name(raw[PROVISIONED_PRODUCT_NAME]),
        path_id=_id(raw, PATH_ID) if _given(raw.get(PATH_ID)) else None,
        parameters=_parameters(raw.get(PROVISIONING_PARAMETERS)),
        tags=_tags(raw.get(TAGS)),
        notification_arns=_notification_arns(raw.get(NOTIFICATION_ARNS)),
    )


def _given(value: Any) -> bool:
    return value is not None and value not in ("", [])


def _id(raw: Mapping[str, Any], name: str) -> str:
    value = raw[name]
    if not is_id(value):
        raise InvalidPropertyError(
            f"{name} {shown(value)} is not a Service Catalog id: use 1-100 letters, digits, '_' or '-' "
            "(for example prod-abc123 or pa-abc123, from the product's page in the console)."
        )
    return value


def _name(value: Any) -> str:
    if not is_name(value):
        raise InvalidPropertyError(
            f"{PROVISIONED_PRODUCT_NAME} {shown(value)} is not allowed: use 1-128 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit; it must be unique in the account."
        )
    return value


def _key_values(value: Any, name: str) -> list[tuple[Any, Any]]:
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and set(item) == {"Key", "Value"} for item in value
    ):
        raise InvalidPropertyError(
            f"{name} must be a list of {{Key, Value}} objects, e.g. [{{Key: Size, Value: small}}]."
        )
    return [(item["Key"], item["Value"]) for item in value]


def _parameters(value: Any) -> tuple[tuple[str, str], ...]:
    if not _given(value):
        return ()
    pairs = _key_values(value, PROVISIONING_PARAMETERS)
    keys = [key for key, _ in pairs]
    for key, item in pairs:
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_PARAMETER_KEY:
            raise InvalidPropertyError(
                f"{PROVISIONING_PARAMETERS}: key {shown(key)} must be 1-{MAX_PARAMETER_KEY} characters."
            )
        if not isinstance(item, str) or len(item) > MAX_PARAMETER_VALUE:
            raise InvalidPropertyError(
                f"{PROVISIONING_PARAMETERS}: the value of {key} must be a string of at most "
                f"{MAX_PARAMETER_VALUE} characters."
            )
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise InvalidPropertyError(
            f"{PROVISIONING_PARAMETERS} names {', '.join(duplicates)} more than once: give each key once."
        )
    return tuple((str(key), str(item)) for key, item in pairs)


def _tags(value: Any) -> tuple[tuple[str, str], ...]:
    if not _given(value):
        return ()
    pairs = _key_values(value, TAGS)
    if len(pairs) > MAX_TAGS:
        raise InvalidPropertyError(f"{TAGS} has {len(pairs)} tags: Service Catalog takes at most {MAX_TAGS}.")
    for key, item in pairs:
        for part, limit in ((key, MAX_TAG_KEY), (item, MAX_TAG_VALUE)):
            if not isinstance(part, str) or not 1 <= len(part) <= limit or not _tag_text(part):
                raise InvalidPropertyError(
                    f"{TAGS}: {shown(part)} is not a valid tag key or value: use 1-{limit} letters, digits, "
                    "spaces or _ . : / = + - @."
                )
    return tuple((str(key), str(item)) for key, item in pairs)


def _tag_text(text: str) -> bool:
    return all(ch.isalnum() or ch.isspace() or ch in TAG_PUNCTUATION for ch in text)


def _notification_arns(value: Any) -> tuple[str, ...]:
    if not _given(value):
        return ()
    if not isinstance(value, list) or len(value) > MAX_NOTIFICATION_ARNS:
        raise InvalidPropertyError(
            f"{NOTIFICATION_ARNS} must be a list of at most {MAX_NOTIFICATION_ARNS} SNS topic ARNs."
        )
    for arn in value:
        if not is_arn(arn):
            raise InvalidPropertyError(f"{NOTIFICATION_ARNS}: {shown(arn)} is not an SNS topic ARN.")
    return tuple(value)
