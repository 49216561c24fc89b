"""The product a resource declares instead of a plan id: what CreateProvisionedProductPlan needs.

A resource gives either `PlanId` (a reviewed plan made elsewhere) or a product spec, the same
properties the native `AWS::ServiceCatalog::CloudFormationProvisionedProduct` takes. Like every
property, the spec is checked before any Service Catalog call (spec_checks.py), and by
the construct at synth time; limits are botocore's model's (CreateProvisionedProductPlan's and, for
names, DescribeProduct's input shapes). Loaded only for a resource that declares a spec.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from sc_plan_provider.core.value import Value, replace
from sc_plan_provider.properties.spec_properties import (
    NOTIFICATION_ARNS,
    PATH_ID,
    PATH_NAME,
    PRODUCT_ID,
    PRODUCT_NAME,
    PROVISIONED_PRODUCT_NAME,
    PROVISIONING_ARTIFACT_ID,
    PROVISIONING_ARTIFACT_NAME,
    PROVISIONING_PARAMETERS,
    TAGS,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

TAG_PUNCTUATION = frozenset("_.:/=+-@")
MAX_PARAMETER_KEY = 1000
MAX_PARAMETER_VALUE = 4096
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_NOTIFICATION_ARNS = 5


class ProductSpec(Value):
    """What to provision: product, version, launch path, name, parameters, tags, notifications.

    The product, its version and its launch path are each given by id or by name (as the native
    resource takes them); names are resolved to ids at deploy time (steps/name_resolution.py), before anything
    is planned, so a resolved spec holds ids only and `product_id` is empty until then.
    """

    product_id: str
    provisioning_artifact_id: str
    provisioned_product_name: str
    path_id: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    notification_arns: tuple[str, ...] = ()
    product_name: str | None = None
    provisioning_artifact_name: str | None = None
    path_name: str | None = None

    @classmethod
    def of(
        cls,
        *,
        provisioned_product_name: str,
        product_id: str | None = None,
        provisioning_artifact_id: str | None = None,
        parameters: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        notification_arns: Sequence[str] | None = None,
        path_id: str | None = None,
        product_name: str | None = None,
        provisioning_artifact_name: str | None = None,
        path_name: str | None = None,
    ) -> ProductSpec:
        """Build a spec from plain dicts (as the construct does); values may be CDK tokens.

        One of `product_id`/`product_name`, one of `provisioning_artifact_id`/`provisioning_artifact_name`
        and at most one of `path_id`/`path_name`. Nothing is validated here: `parse_product_spec`
        checks the properties this spec renders to.
        """
        return cls(
            product_id=product_id or "",
            provisioning_artifact_id=provisioning_artifact_id or "",
            provisioned_product_name=provisioned_product_name,
            path_id=path_id,
            parameters=tuple((parameters or {}).items()),
            tags=tuple((tags or {}).items()),
            notification_arns=tuple(notification_arns or ()),
            product_name=product_name,
            provisioning_artifact_name=provisioning_artifact_name,
            path_name=path_name,
        )

    @property
    def names_given(self) -> bool:
        """Whether the product, its version or its launch path is named: resolved before planning."""
        return (self.product_name, self.provisioning_artifact_name, self.path_name) != (None, None, None)

    def resolved(self, product_id: str, provisioning_artifact_id: str, path_id: str | None) -> ProductSpec:
        """The same spec by ids only: what reaches Service Catalog."""
        return replace(
            self,
            product_id=product_id,
            provisioning_artifact_id=provisioning_artifact_id,
            path_id=path_id,
            product_name=None,
            provisioning_artifact_name=None,
            path_name=None,
        )

    def is_new_product_of(self, old: ProductSpec) -> bool:
        """A new name or product means another provisioned product (CloudFormation replaces); both
        specs resolved, so a product given by id in one and by name in the other is the same."""
        return (self.provisioned_product_name, self.product_id) != (old.provisioned_product_name, old.product_id)

    def digest(self) -> str:
        """A stable fingerprint of what reaches Service Catalog (order of parameters and tags aside).

        Equal digests of resolved specs mean the same request to Service Catalog: the plan's
        idempotency token and the owner record's applied specs (the restore rule) are keyed by it.
        An unresolved spec's digest also covers its names: it equals only the same declaration.
        """
        canonical: dict[str, object] = {
            PRODUCT_ID: self.product_id,
            PROVISIONING_ARTIFACT_ID: self.provisioning_artifact_id,
            PATH_ID: self.path_id,
            PROVISIONED_PRODUCT_NAME: self.provisioned_product_name,
            PROVISIONING_PARAMETERS: sorted(self.parameters),
            TAGS: sorted(self.tags),
            NOTIFICATION_ARNS: sorted(self.notification_arns),
        }
        canonical.update((key, name) for key, name in self._names() if name is not None)
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()

    def as_properties(self) -> dict[str, object]:
        """The custom resource properties, in the native CloudFormationProvisionedProduct's shapes."""
        properties: dict[str, object] = {}
        if self.product_id:
            properties[PRODUCT_ID] = self.product_id
        if self.provisioning_artifact_id:
            properties[PROVISIONING_ARTIFACT_ID] = self.provisioning_artifact_id
        properties[PROVISIONED_PRODUCT_NAME] = self.provisioned_product_name
        if self.path_id is not None:
            properties[PATH_ID] = self.path_id
        properties.update((key, name) for key, name in self._names() if name is not None)
        if self.parameters:
            properties[PROVISIONING_PARAMETERS] = [{"Key": k, "Value": v} for k, v in self.parameters]
        if self.tags:
            properties[TAGS] = [{"Key": k, "Value": v} for k, v in self.tags]
        if self.notification_arns:
            properties[NOTIFICATION_ARNS] = list(self.notification_arns)
        return properties

    def _names(self) -> tuple[tuple[str, str | None], ...]:
        return (
            (PRODUCT_NAME, self.product_name),
            (PROVISIONING_ARTIFACT_NAME, self.provisioning_artifact_name),
            (PATH_NAME, self.path_name),
        )
