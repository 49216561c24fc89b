"""Create and Update, spec mode: the resource declares the product (a `ProductSpec`) and every
deployment plans it.

Create and Update plan the spec (CreateProvisionedProductPlan, its token derived from the request
and the spec, so duplicates and continuations get the same plan), wait for the plan, then:

- nothing to change (Service Catalog fails the plan saying so, in either of its two wordings):
  SUCCESS with the product as it stands, nothing executed; every rollback after a failed update,
  which Service Catalog already undid, ends here;
- any other failed plan: FAILED with Service Catalog's message;
- otherwise the change gate decides, the product is claimed, the plan executes and the answer
  reports the record, as in plan mode (steps/apply.py).

The real service allows one plan per provisioned product, and only for a product that is not
under change. So before planning an existing product, the resource removes the plans it left for
it earlier (a crash, a failed delete: its plans are named after it, steps/spec_plans.py) and waits out a record still
running on it. Every plan created here is deleted (with IgnoreErrors: a failed execution's change
set cannot be deleted otherwise) once executed, refused or found to have nothing to change, and a
new product's placeholder that a deleted, unexecuted plan leaves behind is terminated; a cleanup
that fails is logged and never fails the answer.

A spec that names its product, version or launch path is resolved to ids first (steps/name_resolution.py):
everything after sees what reaches Service Catalog only, so ids and the names of the same product
are the same spec. An Update back to a spec already applied to the product (its digest is in the
owner record) is a restore, typically a rollback: planned and executed without the gate, as is the
same spec with a new ReapplyToken (the way back from drift). An Update whose spec is unchanged
plans nothing. A new ProvisionedProductName or ProductId plans a new
product, whose id the answer gives, so CloudFormation replaces the resource and later deletes the
old product.

A ProvisionedProductName that is an existing provisioned product no stack owns is adopted only
with AdoptExisting: otherwise a typo could take over someone else's product (and the stack's
Delete would terminate it). Not adoptions: the resource's own product (its physical id, even if
the owners table lost its record), a product on record as the resource's, and a placeholder a plan
left that was never provisioned (nothing to take over). Another resource's product is refused
whatever the flag says (steps/deputy.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.request import PlanRequest, ResourceFailure, is_product_id
from sc_plan_provider.core.telemetry import logger, metrics
from sc_plan_provider.properties.resource import ADOPT_EXISTING, reapply_requested
from sc_plan_provider.properties.spec_checks import parse_product_spec
from sc_plan_provider.properties.spec_properties import PROVISIONED_PRODUCT_NAME, declares_spec
from sc_plan_provider.properties.values import InvalidPropertyError
from sc_plan_provider.records.owners import Owner, OwnershipUnavailableError
from sc_plan_provider.servicecatalog.calls import ServiceCatalogError
from sc_plan_provider.servicecatalog.planning import PlanningCatalog, is_no_changes, is_placeholder
from sc_plan_provider.servicecatalog.shapes import PLAN_CREATE_FAILED, PRODUCT_UNDER_CHANGE, ChangeSummary
from sc_plan_provider.servicecatalog.wait import PLACEHOLDER_VISIBILITY, visible_product, wait_for_record
from sc_plan_provider.steps.apply import ExecutedElsewhereError, execute, finish_or_remove, gate, settled
from sc_plan_provider.steps.context import request_deadline
from sc_plan_provider.steps.deputy import check_owner, claim
from sc_plan_provider.steps.name_resolution import NameResolver
from sc_plan_provider.steps.report import current
from sc_plan_provider.steps.spec_plans import delete_own_plans, delete_plan, plan_name
from sc_plan_provider.steps.tag_changes import note_tag_changes
from sc_plan_provider.steps.terminate import remove_product
from sc_plan_provider.waiting.waiter import DeadlineExceededError

if TYPE_CHECKING:
    from sc_plan_provider.properties.resource import PlanProperties
    from sc_plan_provider.properties.spec import ProductSpec
    from sc_plan_provider.servicecatalog.planning import CreatedPlan
    from sc_plan_provider.servicecatalog.shapes import Plan, ProvisionedProduct
    from sc_plan_provider.steps.context import Answer, Environment

PLAN = "plan"


def create(request: PlanRequest, properties: PlanProperties, spec: ProductSpec, env: Environment) -> Answer:
    failed_id = request.not_provisioned_id()
    catalog = _catalog(properties, env)
    resolved = _resolver(catalog, properties, env).resolve(
        spec, failed_id=failed_id, is_new_product=lambda: _launches_new(catalog, spec)
    )
    return _apply(request, properties, resolved, env, failed_id=failed_id, gated=True)


def update(request: PlanRequest, properties: PlanProperties, spec: ProductSpec, env: Environment) -> Answer:
    old = _old_spec(request)
    reapply = reapply_requested(request.properties, request.old_properties)
    if old is not None and old.digest() == spec.digest() and not reapply:
        return _unchanged(request, properties, env)
    catalog = _catalog(properties, env)
    resolver = _resolver(catalog, properties, env)
    spec = resolver.resolve(spec, failed_id=None, is_new_product=lambda: _launches_new(catalog, spec))
    if old is not None and old.names_given:
        try:
            old = resolver.resolve(old, failed_id=None, is_new_product=lambda: False)
        except ResourceFailure as failure:
            logger.info("The old spec's names no longer resolve", extra={"reason": failure.reason})
            old = None
    if old is not None and old.digest() == spec.digest() and not reapply:
        return _unchanged(request, properties, env)  # the same product by ids and by names
    if old is not None and not spec.is_new_product_of(old):
        note_tag_changes(old, spec, catalog)
    restoring = (
        is_product_id(request.physical_resource_id)
        and (old is None or not spec.is_new_product_of(old))
        and (reapply or spec.digest() in _applied_specs(env, request.physical_resource_id))
    )
    if restoring:
        logger.info("Spec declared before (or ReapplyToken changed): re-applying it without the change gate")
        metrics.add_metric(name="Restores", unit="Count", value=1)
    return _apply(request, properties, spec, env, failed_id=None, gated=not restoring)


def _unchanged(request: PlanRequest, properties: PlanProperties, env: Environment) -> Answer:
    logger.info("Product spec unchanged: nothing to plan")
    return current(
        request.physical_resource_id,
        env.service_catalog(properties.accept_language),
        ChangeSummary(),
        env=env,
        deadline=request_deadline(properties, env),
    )


def _catalog(properties: PlanProperties, env: Environment) -> PlanningCatalog:
    return env.service_catalog(properties.accept_language).extended(PlanningCatalog)


def _resolver(catalog: PlanningCatalog, properties: PlanProperties, env: Environment) -> NameResolver:
    return NameResolver(catalog, deadline=request_deadline(properties, env), sleep=env.sleep)


def _launches_new(catalog: PlanningCatalog, spec: ProductSpec) -> bool:
    """Whether planning the spec launches a new provisioned product: none of its name has ever been
    provisioned (a placeholder never was)."""
    existing = catalog.describe_product_by_name(spec.provisioned_product_name)
    return existing is None or is_placeholder(existing)


def _apply(
    request: PlanRequest,
    properties: PlanProperties,
    spec: ProductSpec,
    env: Environment,
    *,
    failed_id: str | None,
    gated: bool,
) -> Answer:
    return _Planning(request, properties, spec, env, failed_id).apply(gated=gated)


class _Planning:
    """One request's planning of its spec: the context every step shares."""

    def __init__(
        self,
        request: PlanRequest,
        properties: PlanProperties,
        spec: ProductSpec,
        env: Environment,
        failed_id: str | None,
    ) -> None:
        if spec.names_given:
            raise AssertionError("a spec is planned only by ids (NameResolver.resolve)")
        self.request = request
        self.properties = properties
        self.spec = spec
        self.env = env
        self.failed_id = failed_id
        self.service_catalog = env.service_catalog(properties.accept_language).extended(PlanningCatalog)
        self.deadline = request_deadline(properties, env)
        self.digest = spec.digest()
        self.token = request.token(PLAN, self.digest)
        self.name = plan_name(request, self.token)

    def apply(self, *, gated: bool) -> Answer:
        request, env, service_catalog = self.request, self.env, self.service_catalog
        existing = self._prepared_product()
        created = self._create_plan(existing)
        logger.info(
            "Product spec planned",
            extra={"plan_id": created.plan_id, "provisioned_product_id": created.provisioned_product_id},
        )
        new_product = existing is None or existing.provisioned_product_id != created.provisioned_product_id
        try:
            plan = settled(
                service_catalog,
                created.plan_id,
                policy=self.properties.polling,
                deadline=self.deadline,
                sleep=env.sleep,
                new=True,
            )
        except ResourceFailure as failure:
            self._discard(created, new_product=new_product)
            raise ResourceFailure(failure.reason, self.failed_id) from failure
        if plan is None:
            raise ResourceFailure(
                f"The plan of the product spec ({created.plan_id}) vanished before it could be read; deploy again.",
                self.failed_id,
            )
        if plan.status == PLAN_CREATE_FAILED:
            return self._not_executable(plan, created, new_product=new_product)
        try:
            summary = gate(request, self.properties, plan, service_catalog, gated=gated)
            execution = execute(request, plan, service_catalog, env, summary, failed_id=self.failed_id)
        except ExecutedElsewhereError as error:
            raise ResourceFailure(
                f"The plan of the product spec ({plan.plan_id}) was executed by another request; deploy again.",
                self.failed_id,
            ) from error
        except ResourceFailure as failure:
            self._discard(created, new_product=new_product)
            raise ResourceFailure(failure.reason, failure.physical_resource_id or self.failed_id) from failure
        try:
            answer = finish_or_remove(
                request,
                execution,
                service_catalog,
                self.properties,
                deadline=self.deadline,
                env=env,
                summary=summary,
                new_product=self.failed_id is None and execution.provisioned_product_id != request.physical_resource_id,
            )
        except ResourceFailure:
            # A Create's rollback Delete terminates the product it names; an Update keeps its id.
            delete_plan(service_catalog, plan.plan_id, sleep=env.sleep)
            raise
        delete_plan(service_catalog, plan.plan_id, sleep=env.sleep)
        _spec_applied(env, request, execution.provisioned_product_id, self.digest)
        return answer

    def _not_executable(self, plan: Plan, created: CreatedPlan, *, new_product: bool) -> Answer:
        """A CREATE_FAILED plan: nothing to change (SUCCESS, the product as it stands) or a failure."""
        no_changes = is_no_changes(plan)
        self._discard(created, new_product=new_product and not no_changes)
        if not no_changes:
            raise ResourceFailure(
                f"The plan of the product spec ({PROVISIONED_PRODUCT_NAME} {self.spec.provisioned_product_name}) "
                f"is CREATE_FAILED: {plan.status_message or 'no status message'}. Fix the spec and deploy again.",
                self.failed_id,
            )
        product_id = plan.provisioned_product_id
        logger.info("Nothing to change: reporting the product", extra={"provisioned_product_id": product_id})
        if product_id != self.request.physical_resource_id:
            # Reporting on a product makes it the resource's physical id: it must be (or become) its own.
            claim(self.request, product_id, self.env, action="report on", failed_id=self.failed_id)
        answer = current(product_id, self.service_catalog, ChangeSummary(), env=self.env, deadline=self.deadline)
        _spec_applied(self.env, self.request, product_id, self.digest)
        return answer

    def _prepared_product(self) -> ProvisionedProduct | None:
        """The product the spec names, ready for a new plan: not another resource's, no record
        running on it, and none of this resource's earlier plans left on it. None for a new name."""
        service_catalog, spec = self.service_catalog, self.spec
        existing = service_catalog.describe_product_by_name(spec.provisioned_product_name)
        if existing is None:
            return None
        product_id = existing.provisioned_product_id
        self._check_adoption(existing)
        if existing.status == PRODUCT_UNDER_CHANGE and existing.last_record_id:
            logger.info("Product under change: waiting before planning", extra={"provisioned_product_id": product_id})
            try:
                wait_for_record(
                    service_catalog,
                    existing.last_record_id,
                    policy=self.properties.polling,
                    deadline=self.deadline,
                    sleep=self.env.sleep,
                )
            except DeadlineExceededError as error:
                raise ResourceFailure(
                    f"Provisioned product {product_id} ({PROVISIONED_PRODUCT_NAME} {spec.provisioned_product_name}) "
                    f"is still under change, so it cannot be planned yet: {error}",
                    self.failed_id,
                ) from error
            existing = visible_product(service_catalog, product_id, sleep=self.env.sleep) or existing
        self._delete_own_leftovers(product_id)
        return existing

    def _check_adoption(self, existing: ProvisionedProduct) -> None:
        """Refuse another resource's product; refuse to take over one no stack owns unless AdoptExisting."""
        product_id = existing.provisioned_product_id
        owner = check_owner(
            self.env.owners, product_id, self.request, action="plan an update of", failed_id=self.failed_id
        )
        if owner is not None or product_id == self.request.physical_resource_id or is_placeholder(existing):
            return
        if not self.properties.adopt_existing:
            raise ResourceFailure(
                f"{PROVISIONED_PRODUCT_NAME} {self.spec.provisioned_product_name} is provisioned product {product_id}, "
                "which exists already and no stack owns: planning it would take it over, and this stack's Delete "
                f'would later terminate it. Nothing was changed. Set {ADOPT_EXISTING}: "true" (construct prop '
                f"adopt_existing=True) to manage it from this stack, or choose a new {PROVISIONED_PRODUCT_NAME}.",
                self.failed_id,
            )
        logger.info("Adopting a provisioned product no stack owns (AdoptExisting)", extra={"product": product_id})

    def _delete_own_leftovers(self, product_id: str) -> None:
        """Delete the plans this resource left on the product, except the one this request makes."""
        delete_own_plans(self.service_catalog, self.request, product_id, sleep=self.env.sleep, keep=self.name)

    def _create_plan(self, existing: ProvisionedProduct | None) -> CreatedPlan:
        """CreateProvisionedProductPlan; refused once because of something left on the product (a
        plan, a placeholder), it cleans up what is this resource's and tries once more."""
        if not self.env.may_act(self.request):
            raise ResourceFailure(
                "The product spec was not planned: CloudFormation has moved on from this request, so it changes "
                "nothing.",
                self.failed_id,
            )
        for attempt in (1, 2):
            try:
                return self.service_catalog.create_plan(self.spec, self.name, self.token)
            except ServiceCatalogError as error:
                if attempt == 2 or not self._cleared_for_retry(existing):
                    raise ResourceFailure(
                        f"Service Catalog could not plan the product spec ({PROVISIONED_PRODUCT_NAME} "
                        f"{self.spec.provisioned_product_name}): {error}. Check ProductId and ProvisioningArtifactId, "
                        "that no other plan exists for the product, and that the provider function's role has "
                        "access to the product's portfolio (construct prop 'portfolio').",
                        self.failed_id,
                    ) from error
        raise AssertionError("unreachable")  # pragma: no cover

    def _cleared_for_retry(self, existing: ProvisionedProduct | None) -> bool:
        """After a refused plan: remove what this resource left (its plans; a never-provisioned
        placeholder of the name); True when something was there to retry for."""
        product = existing or self.service_catalog.describe_product_by_name(self.spec.provisioned_product_name)
        if product is None:
            return False
        if existing is None:
            self._check_adoption(product)  # appeared since the first look
        product_id = product.provisioned_product_id
        self._delete_own_leftovers(product_id)
        if is_placeholder(product):
            try:
                others = self.service_catalog.list_plans(product_id)
            except ServiceCatalogError:
                return True
            if not others:
                logger.info("Removing a placeholder product no plan needs", extra={"product": product_id})
                remove_product(self.request, product_id, self.service_catalog, self.properties, self.env)
        return True

    def _discard(self, created: CreatedPlan, *, new_product: bool) -> None:
        """Delete a plan that will not execute, and the new product's placeholder it leaves behind
        (on the real service it may outlive its only plan): no product exists that no resource holds."""
        delete_plan(self.service_catalog, created.plan_id, sleep=self.env.sleep)
        if not new_product:
            return
        # Just made by the plan: a single read may not find it yet (eventual consistency).
        placeholder = visible_product(
            self.service_catalog, created.provisioned_product_id, sleep=self.env.sleep, rule=PLACEHOLDER_VISIBILITY
        )
        if placeholder is not None and is_placeholder(placeholder):
            logger.info(
                "Removing the unexecuted plan's placeholder product", extra={"product": created.provisioned_product_id}
            )
            remove_product(
                self.request, placeholder.provisioned_product_id, self.service_catalog, self.properties, self.env
            )


def _old_spec(request: PlanRequest) -> ProductSpec | None:
    """The spec the resource had before this Update; None in plan mode or if it never validated."""
    if not declares_spec(request.old_properties):
        return None
    try:
        return parse_product_spec(request.old_properties)
    except InvalidPropertyError:
        return None


def _applied_specs(env: Environment, product_id: str) -> frozenset[str]:
    try:
        return env.owners.applied_specs(product_id)
    except OwnershipUnavailableError as error:
        # Without the record the Update is treated as new: gated, the safe side.
        logger.warning("Could not read the applied specs", extra={"product": product_id, "error": str(error)})
        return frozenset()


def _spec_applied(env: Environment, request: PlanRequest, product_id: str, digest: str) -> None:
    try:
        env.owners.spec_applied(product_id, Owner.of(request), digest)
    except OwnershipUnavailableError as error:
        logger.warning("Could not record the applied spec", extra={"product": product_id, "error": str(error)})
