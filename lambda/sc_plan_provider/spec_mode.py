"""Spec mode: the resource declares the product (a `ProductSpec`) and every deployment plans it.

Create and Update plan the spec (CreateProvisionedProductPlan, its token derived from the request
and the spec, so duplicates and continuations get the same plan), wait for the plan, then:

- nothing to change (Service Catalog fails the plan saying so): SUCCESS with the product as it
  stands, nothing executed; every rollback after a failed update, which Service Catalog already
  undid, ends here;
- any other failed plan: FAILED with Service Catalog's message;
- otherwise the change gate decides, the product is claimed, the plan executes and the answer
  reports the record, as in plan mode (applying.py).

An Update back to a spec already applied to the product (its digest is in the owner record) is a
restore, typically a rollback: planned and executed without the gate. An Update whose spec is
unchanged plans nothing. A new ProvisionedProductName or ProductId plans a new product, whose id
the answer gives, so CloudFormation replaces the resource and later deletes the old product.

Every plan created here is deleted once executed, refused or found to have nothing to change; a
cleanup that fails is logged and never fails the answer.
"""

from __future__ import annotations

from sc_plan_provider.applying import (
    Answer,
    Environment,
    current,
    execute,
    finish,
    pass_gate,
    remove_failed_replacement,
    request_deadline,
)
from sc_plan_provider.change_gate import ChangeSummary
from sc_plan_provider.deputy import require_owner
from sc_plan_provider.errors import ResourceFailure
from sc_plan_provider.ownership import Owner, OwnershipUnavailableError
from sc_plan_provider.plan_executor import PLAN_CREATE_FAILED, PlanAlreadyExecutedError, settled_plan
from sc_plan_provider.product_spec import (
    PROVISIONED_PRODUCT_NAME,
    ProductSpec,
    declares_spec,
    parse_product_spec,
)
from sc_plan_provider.properties import PlanProperties
from sc_plan_provider.property_values import InvalidPropertyError
from sc_plan_provider.request import PlanRequest, is_product_id
from sc_plan_provider.service_catalog import (
    InvalidStateError,
    NotFoundError,
    Plan,
    ServiceCatalog,
    ServiceCatalogError,
)
from sc_plan_provider.telemetry import logger, metrics

PLAN = "plan"
PLAN_NAME_PREFIX = "cfn-"
PLAN_NAME_LOGICAL_ID_CHARS = 60
PLAN_NAME_TOKEN_CHARS = 12
# "The submitted information didn't contain changes. Submit different information to create a
# change set." (AWS-FACTS); matched loosely so a reworded or typographic apostrophe still counts.
NO_CHANGES = tuple(
    f"{did_not} contain{any_} changes" for did_not in ("didn't", "didnt", "did not") for any_ in ("", " any")
)


def create(request: PlanRequest, properties: PlanProperties, spec: ProductSpec, env: Environment) -> Answer:
    return _apply(request, properties, spec, env, failed_id=request.not_provisioned_id(), gated=True)


def update(request: PlanRequest, properties: PlanProperties, spec: ProductSpec, env: Environment) -> Answer:
    old = _old_spec(request)
    if old is not None and old.digest() == spec.digest():
        logger.info("Product spec unchanged: nothing to plan")
        service_catalog = env.service_catalog(properties.accept_language)
        return current(request.physical_resource_id, service_catalog, ChangeSummary())
    restoring = (
        is_product_id(request.physical_resource_id)
        and (old is None or not spec.is_new_product_of(old))
        and spec.digest() in _applied_specs(env, request.physical_resource_id)
    )
    if restoring:
        logger.info("Spec already applied to the product before: restoring it without the change gate")
        metrics.add_metric(name="Restores", unit="Count", value=1)
    return _apply(request, properties, spec, env, failed_id=None, gated=not restoring)


def is_no_changes(plan: Plan) -> bool:
    """Service Catalog's way of saying a plan has nothing to change: CREATE_FAILED with this message."""
    return plan.status == PLAN_CREATE_FAILED and any(
        phrase in plan.status_message.lower().replace("\u2019", "'") for phrase in NO_CHANGES
    )


def plan_name(request: PlanRequest, token: str) -> str:
    """A name that says which resource planned it: cfn-<logical id>-<12 hex of the plan token>."""
    logical_id = request.logical_resource_id[:PLAN_NAME_LOGICAL_ID_CHARS]
    return f"{PLAN_NAME_PREFIX}{logical_id}-{token[:PLAN_NAME_TOKEN_CHARS]}"


def _apply(
    request: PlanRequest,
    properties: PlanProperties,
    spec: ProductSpec,
    env: Environment,
    *,
    failed_id: str | None,
    gated: bool,
) -> Answer:
    service_catalog = env.service_catalog(properties.accept_language)
    deadline = request_deadline(properties, env)
    digest = spec.digest()
    token = request.token(PLAN, digest)
    try:
        created = service_catalog.create_plan(spec, plan_name(request, token), token)
    except (NotFoundError, InvalidStateError, ServiceCatalogError) as error:
        raise ResourceFailure(
            f"Service Catalog could not plan the product spec ({PROVISIONED_PRODUCT_NAME} "
            f"{spec.provisioned_product_name}): {error}. Check ProductId and ProvisioningArtifactId, and that "
            "the provider function's role has access to the product's portfolio (construct prop 'portfolio').",
            failed_id,
        ) from error
    logger.info(
        "Product spec planned",
        extra={"plan_id": created.plan_id, "provisioned_product_id": created.provisioned_product_id},
    )
    try:
        plan = settled_plan(
            service_catalog, created.plan_id, policy=properties.polling, deadline=deadline, sleep=env.sleep
        )
    except ResourceFailure as failure:
        _delete_plan(service_catalog, created.plan_id)
        raise ResourceFailure(failure.reason, failed_id) from failure
    if plan.status == PLAN_CREATE_FAILED:
        _delete_plan(service_catalog, plan.plan_id)
        if not is_no_changes(plan):
            raise ResourceFailure(
                f"The plan of the product spec ({PROVISIONED_PRODUCT_NAME} {spec.provisioned_product_name}) is "
                f"CREATE_FAILED: {plan.status_message or 'no status message'}. Fix the spec and deploy again.",
                failed_id,
            )
        return _unchanged(request, plan, digest, service_catalog, env, failed_id=failed_id)
    try:
        summary = pass_gate(
            request, properties, plan, service_catalog=service_catalog, env=env, failed_id=failed_id, gated=gated
        )
        execution = execute(request, plan, service_catalog)
    except PlanAlreadyExecutedError as error:
        raise ResourceFailure(
            f"The plan of the product spec ({plan.plan_id}) was executed by another request; deploy again.",
            failed_id,
        ) from error
    except ResourceFailure:
        _delete_plan(service_catalog, plan.plan_id)
        raise
    env.on_product(execution.provisioned_product_id)
    try:
        answer = finish(execution, service_catalog, properties, deadline=deadline, env=env, summary=summary)
    except ResourceFailure as failure:
        _delete_plan(service_catalog, plan.plan_id)
        if failed_id is not None:  # a Create: the rollback Delete terminates the product it names
            raise
        if execution.provisioned_product_id != request.physical_resource_id:
            remove_failed_replacement(request, execution.provisioned_product_id, service_catalog, properties, env)
        # CloudFormation rolls back against the product in place; keep its id.
        raise ResourceFailure(failure.reason, request.physical_resource_id) from failure
    _delete_plan(service_catalog, plan.plan_id)
    _spec_applied(env, request, execution.provisioned_product_id, digest)
    return answer


def _unchanged(
    request: PlanRequest,
    plan: Plan,
    digest: str,
    service_catalog: ServiceCatalog,
    env: Environment,
    *,
    failed_id: str | None,
) -> Answer:
    """Nothing to change: the product already runs the spec; report it as it stands."""
    product_id = plan.provisioned_product_id
    logger.info("Nothing to change: reporting the product", extra={"provisioned_product_id": product_id})
    if product_id != request.physical_resource_id:
        require_owner(env.owners, product_id, request, action="report on", failed_id=failed_id)
    answer = current(product_id, service_catalog, ChangeSummary())
    _spec_applied(env, request, product_id, digest)
    return answer


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


def _delete_plan(service_catalog: ServiceCatalog, plan_id: str) -> None:
    """Delete a plan this provider created; a failure is logged (ids and error only), never raised."""
    try:
        service_catalog.delete_plan(plan_id)
    except NotFoundError:
        logger.info("Plan already deleted", extra={"plan_id": plan_id})
    except Exception as error:  # cleanup must never fail the answer, whatever went wrong
        logger.warning("Could not delete the plan", extra={"plan_id": plan_id, "error": str(error)})
    else:
        logger.info("Plan deleted", extra={"plan_id": plan_id})
