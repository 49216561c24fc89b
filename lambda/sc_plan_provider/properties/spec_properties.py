"""The names of a product spec's properties and whether a resource declares a spec.

Every request reads these (a plan-mode one to know it declares no spec), so this module holds only
names; the spec itself (spec.py) and its checks (spec_checks.py) load only for a resource that
declares one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

PRODUCT_ID = "ProductId"
PRODUCT_NAME = "ProductName"
PROVISIONING_ARTIFACT_ID = "ProvisioningArtifactId"
PROVISIONING_ARTIFACT_NAME = "ProvisioningArtifactName"
PATH_ID = "PathId"
PATH_NAME = "PathName"
PROVISIONED_PRODUCT_NAME = "ProvisionedProductName"
PROVISIONING_PARAMETERS = "ProvisioningParameters"
TAGS = "Tags"
NOTIFICATION_ARNS = "NotificationArns"

SPEC_PROPERTIES = (
    PRODUCT_ID,
    PRODUCT_NAME,
    PROVISIONING_ARTIFACT_ID,
    PROVISIONING_ARTIFACT_NAME,
    PATH_ID,
    PATH_NAME,
    PROVISIONED_PRODUCT_NAME,
    PROVISIONING_PARAMETERS,
    TAGS,
    NOTIFICATION_ARNS,
)


def declares_spec(raw: Mapping[str, Any]) -> bool:
    return any(given(raw.get(name)) for name in SPEC_PROPERTIES)


def given(value: Any) -> bool:
    return value is not None and value not in ("", [])
