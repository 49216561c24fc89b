"""What the log says when a spec-mode Update changes the product's tags: whether they can take effect.

Service Catalog applies changed tags on an update only if the product has a RESOURCE_UPDATE
constraint with TagUpdateOnProvisionedProduct ALLOWED; "If RESOURCE_UPDATE constraint is not
present, tags updates are ignored" (the `Tags` of the native CloudFormationProvisionedProduct). An
end user learns the constraints only from DescribeProvisioningParameters' ConstraintSummaries,
which give each constraint's Type and its administrator's Description, not its parameters
(botocore's model; the parameters are DescribeConstraint's, an administrator's call). So the log
can say "ignored" when there is no RESOURCE_UPDATE constraint, and otherwise only that the
constraint decides; it points at the docs' section on tags either way. Never fails the Update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.servicecatalog.calls import ServiceCatalogError

if TYPE_CHECKING:
    from sc_plan_provider.properties.spec import ProductSpec
    from sc_plan_provider.servicecatalog.planning import PlanningCatalog

RESOURCE_UPDATE = "RESOURCE_UPDATE"
TAGS_SECTION = "docs/spec-mode.md#tags: 'Changing tags of an existing product'"


def note_tag_changes(old: ProductSpec, new: ProductSpec, catalog: PlanningCatalog) -> None:
    """Log whether the tags an Update of the same product changes can take effect (both specs resolved)."""
    if sorted(old.tags) == sorted(new.tags):
        return
    where = {"product_id": new.product_id, "see": TAGS_SECTION}
    try:
        types = catalog.constraint_types(new.product_id, new.provisioning_artifact_id, new.path_id)
    except ServiceCatalogError as error:
        logger.warning(
            "Tags changed: they take effect only if the product has a RESOURCE_UPDATE constraint allowing tag "
            "updates, and its constraints could not be read",
            extra={**where, "error": str(error)},
        )
        return
    if RESOURCE_UPDATE in types:
        logger.info(
            "Tags changed: the product has a RESOURCE_UPDATE constraint, and they take effect if it sets "
            "TagUpdateOnProvisionedProduct to ALLOWED (DescribeProvisioningParameters does not show which)",
            extra=where,
        )
    else:
        logger.warning(
            "Tags changed, but the product has no RESOURCE_UPDATE constraint: Service Catalog ignores tag changes "
            "on update until its administrator allows them",
            extra=where,
        )
