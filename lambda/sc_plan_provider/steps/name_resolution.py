"""A spec's names resolved to ids: ProductName, ProvisioningArtifactName and PathName, as the native
`AWS::ServiceCatalog::CloudFormationProvisionedProduct` takes them.

CreateProvisionedProductPlan takes ids only, so a spec that names its product, version or launch
path is resolved with DescribeProduct (the end user's call: by `Name`, or by `Id` when only the
version or the path is named) before anything is planned. Its answer lists the product's active
versions with their guidance and the launch paths the caller has, each named after its portfolio.
Everything after this sees ids only: the plan token and the applied-spec digests, so a template
that switches from ids to the names of the same product plans nothing new.

Refused, listing what exists (reasons stay short: at most `MAX_LISTED` items): an unknown or
invisible product, a version or path the product does not have, a name that is ambiguous, a
product with several launch paths when the spec chooses none (CreateProvisionedProductPlan's
PathId: "required if the product has more than one path", botocore's model), and a DEPRECATED
version for a new provisioned product ("Users are able to make updates to a provisioned product of
a deprecated version but cannot launch new provisioned products using a deprecated version", API
reference of UpdateProvisioningArtifact, Guidance). An unknown product name is not looked up
further: listing the products the role can see would take SearchProducts (another permission and
call), and it would list the same products DescribeProduct sees, while the usual cause, a role that
is not a principal of the product's portfolio, hides the product from both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.request import ResourceFailure
from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.properties.spec_properties import (
    PATH_ID,
    PATH_NAME,
    PRODUCT_ID,
    PRODUCT_NAME,
    PROVISIONING_ARTIFACT_ID,
    PROVISIONING_ARTIFACT_NAME,
)
from sc_plan_provider.properties.values import shown
from sc_plan_provider.servicecatalog.calls import NotFoundError, ServiceCatalogError
from sc_plan_provider.waiting.waiter import Sleep, call_until_answered

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sc_plan_provider.properties.spec import ProductSpec
    from sc_plan_provider.servicecatalog.planning import CatalogArtifact, CatalogProduct, PlanningCatalog
    from sc_plan_provider.waiting.deadline import Deadline

DEPRECATED = "DEPRECATED"
MAX_LISTED = 10
PORTFOLIO_ACCESS = (
    "that the provider function's role is a principal of the product's portfolio (construct prop 'portfolio', "
    "or AssociatePrincipalWithPortfolio): Service Catalog shows an end user only the products of its portfolios"
)


class NameResolver:
    """Resolves the specs of one request; one DescribeProduct per product, however many specs ask."""

    def __init__(
        self,
        catalog: PlanningCatalog,
        *,
        deadline: Deadline,
        sleep: Sleep,
    ) -> None:
        self._catalog = catalog
        self._deadline = deadline
        self._sleep = sleep
        self._products: dict[tuple[str, str], CatalogProduct] = {}

    def resolve(self, spec: ProductSpec, *, failed_id: str | None, is_new_product: Callable[[], bool]) -> ProductSpec:
        """The spec by ids; a spec given by ids is returned as it is, without any call.

        `is_new_product` is asked only for a DEPRECATED version: whether the spec would launch a new
        provisioned product (refused) rather than update one (allowed, with a warning)."""
        if not spec.names_given:
            return spec
        product = self._product(spec, failed_id)
        artifact = _artifact(spec, product, failed_id)
        if artifact.guidance == DEPRECATED:
            if is_new_product():
                current = [a.describe() for a in product.artifacts if a.guidance != DEPRECATED]
                raise ResourceFailure(
                    f"Version {artifact.describe()} of product {product.describe()} is DEPRECATED: Service Catalog "
                    "launches no new provisioned product from a deprecated version (it still updates existing "
                    f"ones). Use one of its current versions: {_listed(current)}.",
                    failed_id,
                )
            logger.warning(
                "Updating a provisioned product to a DEPRECATED version",
                extra={"provisioning_artifact_id": artifact.artifact_id, "product_id": product.product_id},
            )
        resolved = spec.resolved(product.product_id, artifact.artifact_id, _path_id(spec, product, failed_id))
        logger.info(
            "Product spec names resolved",
            extra={
                "product_id": resolved.product_id,
                "provisioning_artifact_id": resolved.provisioning_artifact_id,
                "path_id": resolved.path_id,
            },
        )
        return resolved

    def _product(self, spec: ProductSpec, failed_id: str | None) -> CatalogProduct:
        key = (PRODUCT_NAME, spec.product_name) if spec.product_name is not None else (PRODUCT_ID, spec.product_id)
        if key in self._products:
            return self._products[key]
        given, value = key
        try:
            product = call_until_answered(
                lambda: self._catalog.describe_catalog_product(
                    name=value if given == PRODUCT_NAME else None, product_id=value if given == PRODUCT_ID else None
                ),
                what=f"product {value}",
                deadline=self._deadline,
                sleep=self._sleep,
            )
        except NotFoundError as error:
            what = "name (it must match exactly)" if given == PRODUCT_NAME else "id"
            raise ResourceFailure(
                f"{given} {shown(value)} is not a product the provider function's role can see (DescribeProduct: "
                f"{str(error) or 'not found'}). Check the {what}, and {PORTFOLIO_ACCESS}.",
                failed_id,
            ) from error
        except ServiceCatalogError as error:
            raise ResourceFailure(
                f"Could not resolve the product spec's names (DescribeProduct of {given} {shown(value)}): {error}. "
                "Nothing was planned; deploy again.",
                failed_id,
            ) from error
        self._products[key] = product
        return product


def _artifact(spec: ProductSpec, product: CatalogProduct, failed_id: str | None) -> CatalogArtifact:
    """The version the spec names or gives by id, among the product's active versions."""
    if spec.provisioning_artifact_name is not None:
        given, value = PROVISIONING_ARTIFACT_NAME, spec.provisioning_artifact_name
        found = [a for a in product.artifacts if a.name == value]
    else:
        given, value = PROVISIONING_ARTIFACT_ID, spec.provisioning_artifact_id
        found = [a for a in product.artifacts if a.artifact_id == value]
    versions = _listed([a.describe() for a in product.artifacts])
    if not found:
        raise ResourceFailure(
            f"{given} {shown(value)} is not an active version of product {product.describe()}: its versions are "
            f"{versions}.",
            failed_id,
        )
    if len(found) > 1:
        raise ResourceFailure(
            f"{given} {shown(value)} names {len(found)} versions of product {product.describe()}: "
            f"{_listed([a.describe() for a in found])}. Give {PROVISIONING_ARTIFACT_ID} instead.",
            failed_id,
        )
    return found[0]


def _path_id(spec: ProductSpec, product: CatalogProduct, failed_id: str | None) -> str | None:
    """The launch path the spec names or gives by id; none (Service Catalog's default) when the
    spec gives none and the product has at most one."""
    paths = product.launch_paths
    listed = _listed([p.describe() for p in paths])
    if spec.path_name is None and spec.path_id is None:
        if len(paths) > 1:
            raise ResourceFailure(
                f"Product {product.describe()} has {len(paths)} launch paths for the provider function's role, so "
                f"the spec must choose one with {PATH_NAME} (the portfolio's name) or {PATH_ID}: {listed}.",
                failed_id,
            )
        return None
    if spec.path_name is not None:
        given, value = PATH_NAME, spec.path_name
        found = [p for p in paths if p.name == value]
    else:
        given, value = PATH_ID, spec.path_id or ""
        found = [p for p in paths if p.path_id == value]
    if len(found) != 1:
        problem = "is not a launch path" if not found else f"names {len(found)} launch paths"
        raise ResourceFailure(
            f"{given} {shown(value)} {problem} of product {product.describe()} for the provider function's role "
            f"(launch paths are named after their portfolios): {listed or 'it has none'}.",
            failed_id,
        )
    return found[0].path_id


def _listed(items: Sequence[str]) -> str:
    """At most MAX_LISTED items, then how many more: a reason must stay short."""
    if not items:
        return "none"
    shown_items = ", ".join(items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return f"{shown_items} and {more} more" if more > 0 else shown_items
