"""The Service Catalog calls beyond a plan-mode Create's: making and removing plans, finding a
product by its name and reading the catalog's products (names to ids, constraints) (spec mode, and a
Delete for a Create that never answered), re-applying a version (restores), terminating (Deletes,
cleanups). Loaded only by those paths, so a Create does not compile them; the rest of the edge is
calls.py, whose client and errors these share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sc_plan_provider.core.telemetry import tracer
from sc_plan_provider.core.value import Value
from sc_plan_provider.servicecatalog.calls import ServiceCatalog, translated_call
from sc_plan_provider.servicecatalog.shapes import (
    PLAN_CREATE_FAILED,
    Plan,
    ProductVersion,
    ProvisionedProduct,
    ProvisioningParameter,
)

if TYPE_CHECKING:
    from sc_plan_provider.properties.spec import ProductSpec

# ListProvisionedProductPlans returns at most 20 plans a page.
PLANS_PAGE_SIZE = 20
# A product a plan created that was never provisioned (the plan was deleted or failed to create).
PLACEHOLDER_STATUSES = frozenset({"PLAN_IN_PROGRESS", "ERROR"})
# Service Catalog's two ways of saying a plan has nothing to change (docs/facts.md#the-real-services-stricter-rules;
# servicecatalog_puppet/aws.py accepts both): "The submitted information didn't contain changes.
# Submit different information to create a change set." and "No updates are to be performed.".
# Matched loosely so a reworded or typographic apostrophe still counts.
NO_CHANGES = (
    *(f"{did_not} contain{any_} changes" for did_not in ("didn't", "didnt", "did not") for any_ in ("", " any")),
    "no updates are to be performed",
)


class CreatedPlan(Value):
    """What CreateProvisionedProductPlan answers: the plan and the product it plans for."""

    plan_id: str
    provisioned_product_id: str


class PlanSummary(Value):
    """One entry of ListProvisionedProductPlans."""

    plan_id: str
    plan_name: str
    provisioned_product_id: str


class CatalogArtifact(Value):
    """One active provisioning artifact (version) of a product, as DescribeProduct lists it."""

    artifact_id: str
    name: str
    guidance: str = "DEFAULT"  # DEFAULT or DEPRECATED (no new provisioned product from it)

    def describe(self) -> str:
        return f"{self.name} ({self.artifact_id}, {self.guidance})"


class LaunchPath(Value):
    """A launch path of a product for the caller; Service Catalog names it after its portfolio."""

    path_id: str
    name: str

    def describe(self) -> str:
        return f"{self.name} ({self.path_id})"


class CatalogProduct(Value):
    """What DescribeProduct tells an end user: the product, its active versions, its launch paths."""

    product_id: str
    name: str
    artifacts: tuple[CatalogArtifact, ...] = ()
    launch_paths: tuple[LaunchPath, ...] = ()

    def describe(self) -> str:
        return f"{self.name} ({self.product_id})"


class PlanningCatalog(ServiceCatalog):
    """The edge with the calls of those paths (`service_catalog.extended(PlanningCatalog)`)."""

    @tracer.capture_method(capture_response=False)
    def create_plan(self, spec: ProductSpec, plan_name: str, idempotency_token: str) -> CreatedPlan:
        """Plan the spec (a plan for an existing name plans an update of that product).

        The same IdempotencyToken returns the first call's plan, so a duplicate or a continuation
        does not plan twice.
        """
        request: dict[str, Any] = {
            "PlanName": plan_name,
            "PlanType": "CLOUDFORMATION",
            "ProductId": spec.product_id,
            "ProvisioningArtifactId": spec.provisioning_artifact_id,
            "ProvisionedProductName": spec.provisioned_product_name,
            "ProvisioningParameters": [{"Key": key, "Value": value} for key, value in spec.parameters],
            "IdempotencyToken": idempotency_token,
            **self._language,
        }
        if spec.path_id:
            request["PathId"] = spec.path_id
        if spec.tags:
            request["Tags"] = [{"Key": key, "Value": value} for key, value in spec.tags]
        if spec.notification_arns:
            request["NotificationArns"] = list(spec.notification_arns)
        response = translated_call(
            "CreateProvisionedProductPlan", lambda: self._client.create_provisioned_product_plan(**request)
        )
        return CreatedPlan(response["PlanId"], response["ProvisionProductId"])

    @tracer.capture_method(capture_response=False)
    def delete_plan(self, plan_id: str) -> None:
        """Delete a plan and its change set; NotFoundError when it is already gone.

        Always with IgnoreErrors: the change set of a plan whose execution failed cannot be deleted
        otherwise ("Cannot delete ChangeSet in execution status EXECUTE_FAILED":
        docs/facts.md#the-real-services-stricter-rules), and a
        plan left behind blocks the product's next plan (one plan per provisioned product).
        """
        translated_call(
            "DeleteProvisionedProductPlan",
            lambda: self._client.delete_provisioned_product_plan(PlanId=plan_id, IgnoreErrors=True, **self._language),
        )

    @tracer.capture_method(capture_response=False)
    def list_plans(self, provisioned_product_id: str) -> list[PlanSummary]:
        """Every plan of a provisioned product that this role can see (all pages)."""
        plans: list[PlanSummary] = []
        token: str | None = None
        while True:
            paging: dict[str, Any] = {"PageToken": token} if token else {}
            response = translated_call(
                "ListProvisionedProductPlans",
                lambda paging=paging: self._client.list_provisioned_product_plans(  # type: ignore[misc]
                    ProvisionProductId=provisioned_product_id, PageSize=PLANS_PAGE_SIZE, **paging, **self._language
                ),
            )
            plans.extend(
                PlanSummary(
                    plan_id=summary.get("PlanId", ""),
                    plan_name=summary.get("PlanName", ""),
                    provisioned_product_id=summary.get("ProvisionProductId", ""),
                )
                for summary in response.get("ProvisionedProductPlans", [])
            )
            token = response.get("NextPageToken") or None
            if not token:
                return plans

    @tracer.capture_method(capture_response=False)
    def describe_product_by_name(self, name: str) -> ProvisionedProduct | None:
        """The live product of that name; None when there is none (or it is not visible yet)."""
        return self._describe_product({"Name": name})

    @tracer.capture_method(capture_response=False)
    def describe_catalog_product(self, *, product_id: str | None = None, name: str | None = None) -> CatalogProduct:
        """DescribeProduct, the end user's call, by id or by name: NotFoundError for a product the
        caller cannot see (unknown, or in no portfolio it is a principal of)."""
        key = {"Id": product_id} if product_id else {"Name": name or ""}
        response = translated_call("DescribeProduct", lambda: self._client.describe_product(**key, **self._language))
        summary = response.get("ProductViewSummary", {})
        return CatalogProduct(
            product_id=summary.get("ProductId", product_id or ""),
            name=summary.get("Name", name or ""),
            artifacts=tuple(
                CatalogArtifact(a.get("Id", ""), a.get("Name", ""), a.get("Guidance", "DEFAULT"))
                for a in response.get("ProvisioningArtifacts", [])
            ),
            launch_paths=tuple(LaunchPath(p.get("Id", ""), p.get("Name", "")) for p in response.get("LaunchPaths", [])),
        )

    @tracer.capture_method(capture_response=False)
    def constraint_types(self, product_id: str, provisioning_artifact_id: str, path_id: str | None) -> frozenset[str]:
        """The types of the constraints on launching this version (DescribeProvisioningParameters'
        ConstraintSummaries: LAUNCH, RESOURCE_UPDATE, ...): what an end user can learn of them."""
        request: dict[str, Any] = {
            "ProductId": product_id,
            "ProvisioningArtifactId": provisioning_artifact_id,
            **self._language,
        }
        if path_id:
            request["PathId"] = path_id
        response = translated_call(
            "DescribeProvisioningParameters", lambda: self._client.describe_provisioning_parameters(**request)
        )
        return frozenset(summary.get("Type", "") for summary in response.get("ConstraintSummaries", []))

    @tracer.capture_method(capture_response=False)
    def update_product(self, provisioned_product_id: str, version: ProductVersion, update_token: str) -> str:
        """Re-apply a product, artifact, path and parameters; return the update record id.

        The same UpdateToken returns the first update's record, so a duplicate or a continuation
        does not update twice.
        """
        request: dict[str, Any] = {
            "ProvisionedProductId": provisioned_product_id,
            "ProductId": version.product_id,
            "ProvisioningArtifactId": version.provisioning_artifact_id,
            "UpdateToken": update_token,
            "ProvisioningParameters": [_update_parameter(p) for p in version.parameters],
            **self._language,
        }
        if version.path_id:
            request["PathId"] = version.path_id
        response = translated_call(
            "UpdateProvisionedProduct", lambda: self._client.update_provisioned_product(**request)
        )
        return response["RecordDetail"]["RecordId"]

    @tracer.capture_method(capture_response=False)
    def terminate_product(
        self, provisioned_product_id: str, terminate_token: str, *, retain: bool = False, ignore_errors: bool = False
    ) -> str:
        """Return the terminate record id; NotFoundError when the product is already gone.

        `retain` (RetainPhysicalResources) keeps the product's stack and resources; `ignore_errors`
        (IgnoreErrors) removes the product even if they cannot be deleted."""
        options = {**self._language}
        if retain:
            options["RetainPhysicalResources"] = True
        if ignore_errors:
            options["IgnoreErrors"] = True
        response = translated_call(
            "TerminateProvisionedProduct",
            lambda: self._client.terminate_provisioned_product(
                ProvisionedProductId=provisioned_product_id, TerminateToken=terminate_token, **options
            ),
        )
        return response["RecordDetail"]["RecordId"]


def is_no_changes(plan: Plan) -> bool:
    """Service Catalog's way of saying a plan has nothing to change: CREATE_FAILED with this message."""
    message = plan.status_message.lower().replace("\u2019", "'")
    return plan.status == PLAN_CREATE_FAILED and any(phrase in message for phrase in NO_CHANGES)


def is_placeholder(product: ProvisionedProduct) -> bool:
    """A product a plan created that was never provisioned: nothing of it exists to take over."""
    return product.status in PLACEHOLDER_STATUSES and not product.last_successful_provisioning_record_id


def _update_parameter(parameter: ProvisioningParameter) -> dict[str, Any]:
    if parameter.use_previous_value:
        return {"Key": parameter.key, "UsePreviousValue": True}
    if parameter.value is None:
        return {"Key": parameter.key}
    return {"Key": parameter.key, "Value": parameter.value}
