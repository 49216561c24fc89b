"""The emulated account's state and its state machines, advanced lazily from wall-clock time.

Every entry point takes the lock and first calls ``_advance``, which moves plans and records along
the timelines fixed when they were created and applies the effects of finished records to the
provisioned product and plan. No background thread means no races with the test's own clock reads:
a status read is always consistent with every effect that was due at that instant.

Where the real service is stricter than its model, the state asks its ``ServiceRules`` (rules.py)
at a few named points, and tells its ``ReadConsistency`` (consistency.py) when objects are born and
when writes change them; the read operations (``describe_*``, ``list_plans``) answer through it.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal

from local_cloud.servicecatalog.consistency import ReadConsistency
from local_cloud.servicecatalog.errors import (
    InvalidParametersException,
    InvalidStateException,
    ResourceNotFoundException,
)
from local_cloud.servicecatalog.history import check_access_filter, check_filters, past_windows, visible_records
from local_cloud.servicecatalog.model import (
    TERMINAL_RECORD_STATUSES,
    Artifact,
    Constraint,
    Guidance,
    LaunchPath,
    Plan,
    Product,
    ProductStack,
    ProductVersion,
    ProvisionedProduct,
    ProvisioningScript,
    Record,
    RecordError,
    RecordStatus,
    RecordType,
    SeededProduct,
    new_id,
)
from local_cloud.servicecatalog.parameters import resolve_parameters, same_parameters
from local_cloud.servicecatalog.rules import ServiceRules

# Share of a record's duration spent in CREATED before IN_PROGRESS (the real service queues briefly).
_CREATED_SHARE = 0.1


class ServiceCatalogState:
    """Products, plans, records and provisioned products of one emulated account and region."""

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.time,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        rules: ServiceRules | None = None,
    ) -> None:
        self.time_scale = time_scale
        self.region = region
        self.account_id = account_id
        self._clock = clock
        self.clock = clock  # what "now" means for timelines and the call log
        self._lock = threading.RLock()
        self._products: dict[str, Product] = {}
        self._artifacts: dict[str, Artifact] = {}
        self._plans: dict[str, Plan] = {}
        self._plan_tokens: dict[str, str] = {}
        self._records: dict[str, Record] = {}
        self._provisioned: dict[str, ProvisionedProduct] = {}
        self._active_plans: set[str] = set()
        self._active_records: set[str] = set()
        self._scripts: dict[str, ProvisioningScript] = {}  # record id -> script, until it settles
        self._deleted_plans: list[str] = []
        self._no_launch_access: set[str] = set()  # catalog products the caller has no portfolio access to
        self.rules = rules or ServiceRules.real()
        self.consistency = ReadConsistency(
            not_found_reads=self.rules.not_found_reads, stale_reads=self.rules.stale_reads
        )

    def set_rules(self, rules: ServiceRules) -> None:
        """Play ``rules`` from now on (pending consistency lags are forgotten)."""
        with self._lock:
            self.rules = rules
            self.consistency.reset(not_found_reads=rules.not_found_reads, stale_reads=rules.stale_reads)

    def set_launch_access(self, product_id: str, *, granted: bool) -> None:
        """Give or take the caller's access to the product's portfolio (granted by default)."""
        with self._lock:
            if product_id not in self._products:
                raise ValueError(f"{product_id} is not a product")
            if granted:
                self._no_launch_access.discard(product_id)
            else:
                self._no_launch_access.add(product_id)

    # ----------------------------------------------------------------- seeding and scripting

    def add_product(
        self,
        name: str,
        artifacts: Mapping[str, ProvisioningScript],
        *,
        deprecated: Collection[str] = (),
        portfolios: Sequence[str] | None = None,
    ) -> SeededProduct:
        """Create a product with one provisioning artifact per (artifact name, script).

        ``deprecated`` names artifacts whose guidance is DEPRECATED; ``portfolios`` names the
        portfolios that hold the product for the caller, one launch path each (default: one,
        ``<name>-portfolio``).
        """
        if not artifacts:
            raise ValueError("a product needs at least one provisioning artifact")
        unknown = set(deprecated) - set(artifacts)
        if unknown:
            raise ValueError(f"deprecated names no artifact of the product: {sorted(unknown)}")
        chosen = list(portfolios) if portfolios is not None else [f"{name}-portfolio"]
        if not chosen or len(set(chosen)) != len(chosen):
            raise ValueError("portfolios must name at least one portfolio, each once")
        with self._lock:
            now = self._clock()
            product = Product(
                id=new_id("prod-"), name=name, artifacts={}, view_id=new_id("prodview-"), created_time=now
            )
            for artifact_name, script in artifacts.items():
                guidance: Guidance = "DEPRECATED" if artifact_name in deprecated else "DEFAULT"
                artifact = Artifact(new_id("pa-"), artifact_name, product.id, script, guidance, now)
                product.artifacts[artifact.id] = artifact
                self._artifacts[artifact.id] = artifact
            product.launch_paths = [LaunchPath(new_id("lpv3-"), portfolio) for portfolio in chosen]
            self._products[product.id] = product
            ids = {a.name: a.id for a in product.artifacts.values()}
            paths = {path.name: path.id for path in product.launch_paths}
            return SeededProduct(id=product.id, name=name, artifacts=ids, launch_paths=paths)

    def set_guidance(self, artifact_id: str, guidance: Guidance) -> None:
        """Mark an artifact DEPRECATED (or DEFAULT again), as UpdateProvisioningArtifact's Guidance does."""
        if guidance not in ("DEFAULT", "DEPRECATED"):
            raise ValueError("guidance must be DEFAULT or DEPRECATED")
        with self._lock:
            self._artifact(artifact_id).guidance = guidance

    def add_constraint(
        self,
        product_id: str,
        constraint_type: str,
        *,
        path_id: str | None = None,
        description: str = "",
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        """A constraint on the product in the portfolio of ``path_id`` (default: its first launch path)."""
        with self._lock:
            product = self._products.get(product_id)
            if product is None:
                raise ValueError(f"{product_id} is not a product")
            chosen = path_id or product.launch_paths[0].id
            if chosen not in {path.id for path in product.launch_paths}:
                raise ValueError(f"{chosen} is not a launch path of {product_id}")
            product.constraints.append(Constraint(constraint_type, chosen, description, dict(parameters or {})))

    def set_artifact_script(self, artifact_id: str, script: ProvisioningScript) -> None:
        """Change what future plans and executions of this artifact do."""
        with self._lock:
            self._artifact(artifact_id).script = script

    def set_plan_script(self, plan_id: str, script: ProvisioningScript) -> None:
        """Override the script for one plan (its creation timing too, measured from its creation)."""
        with self._lock:
            self._advance()
            plan = self._plan(plan_id)
            plan.script = script
            plan.resource_changes = script.resource_changes_for("MODIFY" if plan.is_update else "ADD")
            if plan.status == "CREATE_IN_PROGRESS":
                plan.ready_time = plan.created_time + self._scaled(script.plan_duration)
                self._advance()

    # ----------------------------------------------------------------- inspection (snapshots)

    def plan(self, plan_id: str) -> Plan:
        """A copy of the plan as of now."""
        with self._lock:
            self._advance()
            return copy.deepcopy(self._plan(plan_id))

    def record(self, record_id: str) -> Record:
        """A copy of the record as of now."""
        with self._lock:
            self._advance()
            return copy.deepcopy(self._record(record_id))

    def provisioned_product(self, provisioned_product_id: str) -> ProvisionedProduct:
        """A copy of the provisioned product as of now (terminated ones too, flagged ``terminated``)."""
        with self._lock:
            self._advance()
            found = self._provisioned.get(provisioned_product_id)
            if found is None:
                raise KeyError(provisioned_product_id)
            return copy.deepcopy(found)

    def plans(self) -> list[Plan]:
        """Copies of all plans not deleted, oldest first."""
        with self._lock:
            self._advance()
            return [copy.deepcopy(p) for p in self._plans.values()]

    def provisioned_products(self) -> list[ProvisionedProduct]:
        """Copies of all live provisioned products."""
        with self._lock:
            self._advance()
            return [copy.deepcopy(p) for p in self._provisioned.values() if not p.terminated]

    def records(self) -> list[Record]:
        """Copies of all records, oldest first."""
        with self._lock:
            self._advance()
            return [copy.deepcopy(r) for r in self._records.values()]

    def current_version(self, provisioned_product_id: str) -> ProductVersion:
        """What the product was last successfully provisioned or updated with (terminated ones too)."""
        product = self.provisioned_product(provisioned_product_id)
        parameters = {p["Key"]: p["Value"] for p in product.parameters}
        return ProductVersion(product.product_id, product.provisioning_artifact_id, product.path_id, parameters)

    def deleted_plans(self) -> list[str]:
        """Ids of the plans deleted so far, in deletion order."""
        with self._lock:
            return list(self._deleted_plans)

    # ----------------------------------------------------------------- operations

    def create_plan(
        self,
        *,
        plan_name: str,
        product_id: str,
        provisioning_artifact_id: str,
        provisioned_product_name: str,
        idempotency_token: str,
        plan_type: str = "CLOUDFORMATION",
        path_id: str | None = None,
        parameters: Sequence[Mapping[str, Any]] = (),
        tags: Sequence[Mapping[str, str]] = (),
        notification_arns: Sequence[str] = (),
        detect_no_changes: bool = True,
        created_by_caller: bool = True,
    ) -> Plan:
        """CreateProvisionedProductPlan: an update plan if the name is a live product, else a new product.

        An update plan with the product's current artifact and parameters fails as AWS's does ("didn't
        contain changes") unless ``detect_no_changes`` is off: seeded plans stand for a template edited
        in place, which the emulator cannot see, so the facade's seeding helper turns the check off.
        ``created_by_caller=False`` makes it another user's plan (for ListProvisionedProductPlans).
        """
        with self._lock:
            self._advance()
            if idempotency_token in self._plan_tokens:
                return copy.deepcopy(self._plans[self._plan_tokens[idempotency_token]])
            product = self._products.get(product_id)
            if product is None:
                raise ResourceNotFoundException(f"Product {product_id} not found.")
            artifact = product.artifacts.get(provisioning_artifact_id)
            if artifact is None:
                raise ResourceNotFoundException(
                    f"Provisioning artifact {provisioning_artifact_id} not found for product {product_id}."
                )
            self._check_launch_access(product_id)
            now = self._clock()
            existing = self._live_by_name(provisioned_product_name)
            if existing is not None and existing.product_id != product_id:
                raise InvalidParametersException(
                    f"Provisioned product {provisioned_product_name} was launched from product "
                    f"{existing.product_id}, not {product_id}."
                )
            self.rules.check_new_plan(existing, self._plans_of(existing.id) if existing else [])
            is_update = existing is not None and existing.last_successful_provisioning_record_id is not None
            self._check_launchable(product, artifact, path_id, is_update=is_update)
            current = existing.parameters if existing is not None and is_update else []
            resolved = resolve_parameters(parameters, current, has_previous=is_update)
            no_changes = (
                detect_no_changes
                and existing is not None
                and is_update
                and existing.provisioning_artifact_id == artifact.id
                and same_parameters(resolved, existing.parameters)
            )
            target = existing or self._new_provisioned_product(provisioned_product_name, product_id, artifact.id, now)
            script = artifact.script
            plan = Plan(
                id=new_id("plan-"),
                name=plan_name,
                plan_type=plan_type,
                product_id=product_id,
                provisioning_artifact_id=artifact.id,
                path_id=path_id,
                provisioned_product_id=target.id,
                provisioned_product_name=target.name,
                is_update=is_update,
                parameters=[dict(p) for p in parameters],
                tags=[dict(t) for t in tags],
                notification_arns=list(notification_arns),
                created_time=now,
                updated_time=now,
                status="CREATE_IN_PROGRESS",
                status_message=None,
                ready_time=now + self._scaled(script.plan_duration),
                script=script,
                resource_changes=script.resource_changes_for("MODIFY" if is_update else "ADD"),
                resolved_parameters=resolved,
                no_changes=no_changes,
                created_by_caller=created_by_caller,
            )
            self._plans[plan.id] = plan
            self._plan_tokens[idempotency_token] = plan.id
            self._active_plans.add(plan.id)
            if existing is None:
                self.consistency.created("provisioned_product", target.id)
            self.consistency.created("plan", plan.id)
            return copy.deepcopy(plan)

    def describe_plan(self, plan_id: str) -> Plan:
        """DescribeProvisionedProductPlan, as a possibly lagging replica answers it."""
        with self._lock:
            self._advance()
            plan = self._plan(plan_id)
            return copy.deepcopy(self.consistency.read("plan", plan_id, plan, f"Plan {plan_id} not found."))

    def list_plans(
        self,
        provisioned_product_id: str | None = None,
        *,
        access_key: str | None = None,
        access_value: str | None = None,
    ) -> list[Plan]:
        """ListProvisionedProductPlans, oldest first.

        Without AccessLevelFilter (AWS's default is User) only the caller's own plans are listed,
        with ``Account`` everyone's: the model's documentation of the filter, and puppet passes
        ``{"Key": "Account", "Value": "self"}`` to find plans another session made (aws.py,
        provision_product_with_plan). A plan still unseen by the replica is left out (rules.py, 6).
        """
        check_access_filter(access_key, access_value, self.account_id)
        with self._lock:
            self._advance()
            return [
                copy.deepcopy(p)
                for p in self._plans.values()
                if (provisioned_product_id is None or p.provisioned_product_id == provisioned_product_id)
                and (access_key == "Account" or p.created_by_caller)
                and self.consistency.listed("plan", p.id)
            ]

    def delete_plan(self, plan_id: str, *, ignore_errors: bool = False) -> None:
        """DeleteProvisionedProductPlan, in any status but an in-progress one (its change set is busy).

        What becomes of a never-executed new product with its last plan is the rules' choice
        (removed, or kept in PLAN_IN_PROGRESS); a removed one is flagged ``terminated``.
        """
        with self._lock:
            self._advance()
            plan = self._plan(plan_id)
            if plan.status in ("CREATE_IN_PROGRESS", "EXECUTE_IN_PROGRESS") and not ignore_errors:
                raise InvalidStateException(f"Plan {plan_id} is {plan.status} and cannot be deleted now.")
            self.rules.check_plan_delete(plan, ignore_errors=ignore_errors)
            del self._plans[plan_id]
            self._deleted_plans.append(plan_id)
            self._active_plans.discard(plan_id)
            self._plan_tokens = {t: p for t, p in self._plan_tokens.items() if p != plan_id}
            product = self._provisioned.get(plan.provisioned_product_id)
            if product is None or product.terminated or product.last_record_id is not None:
                return
            if not self._plans_of(product.id) and self.rules.placeholder_after_delete(plan) == "removed":
                self.consistency.changed("provisioned_product", product.id, copy.deepcopy(product))
                product.terminated = True

    def execute_plan(self, plan_id: str, idempotency_token: str) -> Record:
        """ExecuteProvisionedProductPlan; a repeated token returns the first record if the rules say so."""
        with self._lock:
            self._advance()
            plan = self._plan(plan_id)
            self._check_launch_access(plan.product_id)
            if idempotency_token in plan.execute_tokens and self.rules.execute_token_replays:
                return copy.deepcopy(self._records[plan.execute_tokens[idempotency_token]])
            if plan.status != "CREATE_SUCCESS":
                raise self.rules.execute_refusal(plan)
            product = self._provisioned.get(plan.provisioned_product_id)
            if product is None or product.terminated:
                raise ResourceNotFoundException(f"Provisioned product {plan.provisioned_product_id} not found.")
            if product.status == "UNDER_CHANGE":
                raise InvalidStateException(f"Provisioned product {product.id} is already under change.")
            self.consistency.changed("plan", plan.id, copy.deepcopy(plan))
            self.consistency.changed("provisioned_product", product.id, copy.deepcopy(product))
            script = plan.script
            record_type: RecordType = "UPDATE_PROVISIONED_PRODUCT" if plan.is_update else "PROVISION_PRODUCT"
            record = self._new_record(
                record_type,
                product,
                artifact_id=plan.provisioning_artifact_id,
                path_id=plan.path_id or product.path_id or self._default_path_id(plan.product_id),
                duration=script.duration,
                errors=script.errors_for(plan.resolved_parameters),
                in_error_duration=script.in_error_duration,
                tags=plan.tags,
                script=script,
            )
            self.consistency.created("record", record.id)
            record.parameters = [dict(p) for p in plan.resolved_parameters]
            record.plan_id = plan.id
            record.idempotency_token = idempotency_token
            plan.execute_tokens[idempotency_token] = record.id
            plan.execution_record_id = record.id
            plan.status = "EXECUTE_IN_PROGRESS"
            plan.updated_time = record.created_time
            product.status = "UNDER_CHANGE"
            product.status_message = ""
            product.last_provisioning_record_id = record.id
            if product.idempotency_token is None:
                product.idempotency_token = idempotency_token
            return copy.deepcopy(record)

    def describe_record(self, record_id: str) -> Record:
        """DescribeRecord, as a possibly lagging replica answers it."""
        with self._lock:
            self._advance()
            record = self._record(record_id)
            return copy.deepcopy(self.consistency.read("record", record_id, record, f"Record {record_id} not found."))

    def describe_provisioned_product(self, *, id_: str | None = None, name: str | None = None) -> ProvisionedProduct:
        """DescribeProvisionedProduct by id or name (exactly one): live products, and gone ones a
        lagging replica still shows."""
        with self._lock:
            self._advance()
            product = self._product_for_read(id_, name)
            missing = f"Provisioned product {id_ or name} not found."
            return copy.deepcopy(self.consistency.read("provisioned_product", product.id, product, missing))

    def describe_product(self, *, id_: str | None = None, name: str | None = None) -> Product:
        """DescribeProduct (the end user's call) by id or name: the product with its active artifacts
        (all are active here) and the caller's launch paths.

        API reference of DescribeProduct: Id or Name, answering ProductViewSummary,
        ProvisioningArtifacts (Id, Name, Description, CreatedTime, Guidance) and LaunchPaths (Id,
        Name); "Gets information about the specified product" for an end user (an administrator
        uses DescribeProductAsAdmin). Unknown, and hidden from a caller without a launch path to it,
        is ResourceNotFoundException ("No launch paths found for resource", as ProvisionProduct
        answers such a caller: see ``_check_launch_access``). Both or neither of Id and Name is
        InvalidParametersException, as DescribeProvisionedProduct documents for its Id and Name.
        """
        with self._lock:
            product = self._catalog_lookup(id_, name)
            return copy.deepcopy(product)

    def describe_provisioning_parameters(
        self,
        *,
        product_id: str | None = None,
        product_name: str | None = None,
        artifact_id: str | None = None,
        artifact_name: str | None = None,
        path_id: str | None = None,
        path_name: str | None = None,
    ) -> tuple[Artifact, list[Constraint]]:
        """DescribeProvisioningParameters: the artifact and the constraints on the launch path.

        Each of product, artifact and path by id or by name, not both ("You must provide the name
        or ID, but not both", botocore's model); the path "is optional if the product has a default
        path, and required if the product has more than one path" (the model's PathId). The
        constraints come back as ConstraintSummaries (Type, Description): their parameters (e.g.
        TagUpdateOnProvisionedProduct) are not part of that shape.
        """
        pairs = {
            "Product": (product_id, product_name),
            "ProvisioningArtifact": (artifact_id, artifact_name),
            "Path": (path_id, path_name),
        }
        for what, (by_id, by_name) in pairs.items():
            if by_id is not None and by_name is not None:
                raise InvalidParametersException(f"Provide either the {what}Id or the {what}Name, not both.")
        if product_id is None and product_name is None:
            raise InvalidParametersException("Provide the ProductId or the ProductName.")
        with self._lock:
            product = self._catalog_lookup(product_id, product_name)
            if artifact_id is None and artifact_name is None:
                raise InvalidParametersException("Provide the ProvisioningArtifactId or the ProvisioningArtifactName.")
            artifact = self._product_artifact(product, artifact_id, artifact_name, default="")
            path = self._launch_path(product, path_id, path_name)
            constraints = [c for c in product.constraints if c.path_id == path.id]
            return copy.deepcopy(artifact), copy.deepcopy(constraints)

    def terminate(
        self,
        *,
        terminate_token: str,
        id_: str | None = None,
        name: str | None = None,
        ignore_errors: bool = False,
        retain_physical_resources: bool = False,
    ) -> Record:
        """TerminateProvisionedProduct; the same token returns the same record while the product lives.

        IgnoreErrors: "Service Catalog stops managing the specified provisioned product even if it
        cannot delete the underlying resources"; RetainPhysicalResources: it "deletes the Service
        Catalog provisioned product. However, it does not remove the CloudFormation stack, stack set,
        or the underlying resources" (botocore's model). Either way a scripted terminate failure (the
        resources' deletion failing) does not fail the record; a retained product is flagged
        ``physical_resources_retained`` once terminated.
        """
        with self._lock:
            self._advance()
            product = self._live_product(id_, name)
            if terminate_token in product.terminate_tokens:
                return copy.deepcopy(self._records[product.terminate_tokens[terminate_token]])
            if product.status == "UNDER_CHANGE":
                raise InvalidStateException(f"Provisioned product {product.id} is under change; cannot terminate.")
            script = self._artifact(product.provisioning_artifact_id).script
            # A product never executed (a plan's placeholder) has no stack to delete: done at once.
            placeholder = product.last_record_id is None
            errors = () if ignore_errors or retain_physical_resources or placeholder else script.terminate_errors
            self.consistency.changed("provisioned_product", product.id, copy.deepcopy(product))
            record = self._new_record(
                "TERMINATE_PROVISIONED_PRODUCT",
                product,
                artifact_id=product.provisioning_artifact_id,
                path_id=None,
                duration=0.0 if placeholder else script.terminate_duration,
                errors=errors,
                in_error_duration=0.0,
                tags=[],
                script=script,
            )
            self.consistency.created("record", record.id)
            record.idempotency_token = terminate_token
            record.ignore_errors = ignore_errors
            record.retain_physical_resources = retain_physical_resources
            product.terminate_tokens[terminate_token] = record.id
            product.status = "UNDER_CHANGE"
            product.status_message = ""
            return copy.deepcopy(record)

    def update_provisioned_product(
        self,
        *,
        update_token: str,
        id_: str | None = None,
        name: str | None = None,
        product_id: str | None = None,
        product_name: str | None = None,
        artifact_id: str | None = None,
        artifact_name: str | None = None,
        path_id: str | None = None,
        path_name: str | None = None,
        parameters: Sequence[Mapping[str, Any]] = (),
        tags: Sequence[Mapping[str, str]] = (),
    ) -> Record:
        """UpdateProvisionedProduct: re-apply an artifact and parameters without a plan.

        Product, artifact and path default to the product's current ones (the path: its only
        launch path if it had none). The same UpdateToken returns the same record (no second
        update). A PathName is one of the product's launch paths (named after their portfolios).
        """
        with self._lock:
            self._advance()
            product = self._live_product(id_, name)
            if update_token in product.update_tokens:
                return copy.deepcopy(self._records[product.update_tokens[update_token]])
            pairs = {"Product": (product_id, product_name), "ProvisioningArtifact": (artifact_id, artifact_name)}
            for what, (by_id, by_name) in {**pairs, "Path": (path_id, path_name)}.items():
                if by_id is not None and by_name is not None:
                    raise InvalidParametersException(f"Provide either the {what}Id or the {what}Name, not both.")
            catalog_product = self._catalog_product(product_id, product_name, default=product.product_id)
            if catalog_product.id != product.product_id:
                raise InvalidParametersException(
                    f"Provisioned product {product.id} was launched from product {product.product_id}, "
                    f"not {catalog_product.id}."
                )
            artifact = self._product_artifact(
                catalog_product, artifact_id, artifact_name, default=product.provisioning_artifact_id
            )
            self._check_launch_access(catalog_product.id)
            if path_name is not None:
                path_id = self._launch_path(catalog_product, None, path_name).id
            if product.status in ("UNDER_CHANGE", "PLAN_IN_PROGRESS"):
                raise InvalidStateException(f"Provisioned product {product.id} is {product.status}; cannot update.")
            has_previous = product.last_successful_provisioning_record_id is not None
            resolved = resolve_parameters(parameters, product.parameters, has_previous=has_previous)
            script = artifact.script
            self.consistency.changed("provisioned_product", product.id, copy.deepcopy(product))
            record = self._new_record(
                "UPDATE_PROVISIONED_PRODUCT",
                product,
                artifact_id=artifact.id,
                path_id=path_id or product.path_id or self._default_path_id(catalog_product.id),
                duration=script.duration,
                errors=script.errors_for(resolved),
                in_error_duration=script.in_error_duration,
                tags=tags,
                script=script,
            )
            self.consistency.created("record", record.id)
            record.parameters = resolved
            record.idempotency_token = update_token
            product.update_tokens[update_token] = record.id
            product.status = "UNDER_CHANGE"
            product.status_message = ""
            product.last_provisioning_record_id = record.id
            return copy.deepcopy(record)

    def record_history(
        self,
        *,
        search_key: str | None = None,
        search_value: str | None = None,
        access_key: str | None = None,
        access_value: str | None = None,
    ) -> list[Record]:
        """ListRecordHistory, newest first; see the history module for the access-level model."""
        check_filters(search_key, search_value, access_key, access_value, self.account_id)
        with self._lock:
            self._advance()
            found = visible_records(
                self._records.values(), search_key=search_key, search_value=search_value, access_key=access_key
            )
            return [copy.deepcopy(r) for r in found]

    def seed_record_history(
        self,
        target_id: str,
        durations: Sequence[float],
        *,
        record_type: RecordType = "PROVISION_PRODUCT",
        status: Literal["SUCCEEDED", "FAILED"] = "SUCCEEDED",
        gap: float = 60.0,
        created_by_caller: bool = True,
        provisioning_artifact_id: str | None = None,
    ) -> list[Record]:
        """Finished past records, one per duration (oldest first, real seconds, not time-scaled).

        ``target_id`` is a provisioned product (the records are its history; its current state and
        Last*RecordId pointers are left alone) or a catalog product (each record gets its own
        provisioned product, already terminated, as earlier launches of the product would be).
        """
        if status not in ("SUCCEEDED", "FAILED"):
            raise ValueError("status must be SUCCEEDED or FAILED")
        with self._lock:
            self._advance()
            windows = past_windows(durations, now=self._clock(), gap=gap)
            owner = self._provisioned.get(target_id)
            catalog = self._products.get(owner.product_id if owner else target_id)
            if catalog is None:
                raise ValueError(f"{target_id} is neither a provisioned product nor a product")
            default_artifact = owner.provisioning_artifact_id if owner else next(iter(catalog.artifacts))
            artifact = self._product_artifact(catalog, provisioning_artifact_id, None, default=default_artifact)
            seeded = []
            for start, end in windows:
                product = owner
                if product is None:
                    product = self._new_provisioned_product(f"history-{new_id('')}", catalog.id, artifact.id, start)
                    product.status, product.terminated = "AVAILABLE", True
                record = Record(
                    id=new_id("rec-"),
                    record_type=record_type,
                    provisioned_product_id=product.id,
                    provisioned_product_name=product.name,
                    product_id=catalog.id,
                    provisioning_artifact_id=artifact.id,
                    path_id=product.path_id,
                    created_time=start,
                    updated_time=end,
                    status=status,
                    timeline=[(start, "CREATED"), (end, status)],
                    errors=[RecordError("SEEDED_FAILURE", "A seeded past failure")] if status == "FAILED" else [],
                    outputs=[],
                    tags=[],
                    parameters=[dict(p) for p in product.parameters],
                    settled=True,
                    created_by_caller=created_by_caller,
                )
                self._records[record.id] = record
                seeded.append(copy.deepcopy(record))
            return seeded

    def seed_provisioned_product(
        self,
        *,
        product_id: str,
        provisioning_artifact_id: str,
        name: str,
        outputs: Mapping[str, str] | None = None,
        parameters: Mapping[str, str] | None = None,
        path_id: str | None = None,
    ) -> ProvisionedProduct:
        """An AVAILABLE product with a SUCCEEDED provisioning record, as if provisioned long ago."""
        with self._lock:
            self._advance()
            if self._live_by_name(name) is not None:
                raise ValueError(f"a live provisioned product is already named {name}")
            artifact = self._artifact(provisioning_artifact_id)
            if artifact.product_id != product_id:
                raise ValueError(f"artifact {provisioning_artifact_id} does not belong to product {product_id}")
            now = self._clock()
            product = self._new_provisioned_product(name, product_id, artifact.id, now)
            chosen = dict(artifact.script.outputs if outputs is None else outputs)
            script = ProvisioningScript(outputs=chosen, output_descriptions=artifact.script.output_descriptions)
            record = self._new_record(
                "PROVISION_PRODUCT", product, artifact_id=artifact.id, path_id=path_id, duration=0.0,
                errors=(), in_error_duration=0.0, tags=[], script=script,
            )  # fmt: skip
            record.parameters = [{"Key": k, "Value": v} for k, v in (parameters or {}).items()]
            product.last_provisioning_record_id = record.id
            product.idempotency_token = record.id
            self._advance()
            return copy.deepcopy(product)

    # ----------------------------------------------------------------- internals

    def product_stack(self, name_or_arn: str) -> ProductStack | None:
        """The CloudFormation stack behind a provisioned product, by its name or ARN (a stack deleted
        with its product is found by ARN only, as CloudFormation finds deleted stacks); None for
        any other stack. Its parameters are the product's as last applied, NoEcho values masked."""
        with self._lock:
            self._advance()
            for product in self._provisioned.values():
                if not product.stack_arn or name_or_arn not in (product.stack_arn, _stack_name(product.stack_arn)):
                    continue
                gone = product.terminated and not product.physical_resources_retained
                if gone and name_or_arn != product.stack_arn:
                    return None
                hidden = self._artifact(product.provisioning_artifact_id).script.no_echo_parameters
                return ProductStack(
                    arn=product.stack_arn,
                    name=_stack_name(product.stack_arn),
                    status="DELETE_COMPLETE" if gone else _STACK_STATUS[product.status],
                    created_time=product.created_time,
                    parameters=[(p["Key"], "****" if p["Key"] in hidden else p["Value"]) for p in product.parameters],
                )
            return None

    def _scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

    def _plan(self, plan_id: str) -> Plan:
        plan = self._plans.get(plan_id)
        if plan is None:
            raise ResourceNotFoundException(f"Plan {plan_id} not found.")
        return plan

    def _record(self, record_id: str) -> Record:
        record = self._records.get(record_id)
        if record is None:
            raise ResourceNotFoundException(f"Record {record_id} not found.")
        return record

    def _artifact(self, artifact_id: str) -> Artifact:
        artifact = self._artifacts.get(artifact_id)
        if artifact is None:
            raise ResourceNotFoundException(f"Provisioning artifact {artifact_id} not found.")
        return artifact

    def _plans_of(self, provisioned_product_id: str) -> list[Plan]:
        return [p for p in self._plans.values() if p.provisioned_product_id == provisioned_product_id]

    def _check_launch_access(self, product_id: str) -> None:
        """A caller who is not a principal of the product's portfolio has no launch path to it.

        "ResourceNotFoundException ... No launch paths found for resource: prod-..." from
        ProvisionProduct (aws-ia/terraform-aws-control_tower_account_factory issue 33, aws/aws-cdk
        issue 8404: fixed by adding the role to the portfolio); plans and updates launch through
        the same path (inferred).
        """
        if product_id in self._no_launch_access:
            raise ResourceNotFoundException(f"No launch paths found for resource: {product_id}")

    def _catalog_lookup(self, id_: str | None, name: str | None) -> Product:
        """The catalog product by id or name, as an end user may see it (launch access)."""
        if (id_ is None) == (name is None):
            raise InvalidParametersException("Provide either the product Id or its Name, not both.")
        if id_ is not None:
            found = self._products.get(id_)
        else:
            found = next((p for p in self._products.values() if p.name == name), None)
        if found is None:
            raise ResourceNotFoundException(f"Product {id_ or name} not found.")
        self._check_launch_access(found.id)
        return found

    def _launch_path(self, product: Product, path_id: str | None, path_name: str | None) -> LaunchPath:
        """The launch path by id or name; without either, the product's only one."""
        if path_id is None and path_name is None:
            if len(product.launch_paths) > 1:
                raise InvalidParametersException(
                    f"Product {product.id} has more than one launch path: specify a PathId or a PathName."
                )
            return product.launch_paths[0]
        found = next((p for p in product.launch_paths if path_id in (None, p.id) and path_name in (None, p.name)), None)
        if found is None:
            raise ResourceNotFoundException(f"Launch path {path_id or path_name} not found for product {product.id}.")
        return found

    def _default_path_id(self, product_id: str) -> str | None:
        """The path a record takes when none is given: the product's only launch path."""
        product = self._products.get(product_id)
        return product.launch_paths[0].id if product is not None and len(product.launch_paths) == 1 else None

    def _check_launchable(self, product: Product, artifact: Artifact, path_id: str | None, *, is_update: bool) -> None:
        """CreateProvisionedProductPlan's own rules on what it launches.

        - A DEPRECATED artifact updates a provisioned product but launches no new one ("cannot launch
          new provisioned products using a deprecated version", API reference of
          UpdateProvisioningArtifact, Guidance); a placeholder never provisioned counts as new.
        - PathId "is optional if the product has a default path, and required if the product has
          more than one path" (botocore's model of CreateProvisionedProductPlan).
        A PathId is not checked against the product's launch paths (seeded plans name made-up ones).
        The errors' codes are not documented: InvalidParametersException, the model's code for
        parameters that are not valid.
        """
        if artifact.guidance == "DEPRECATED" and not is_update:
            raise InvalidParametersException(
                f"Provisioning artifact {artifact.id} of product {product.id} is deprecated: "
                "it cannot launch a new provisioned product."
            )
        if path_id is None and len(product.launch_paths) > 1:
            raise InvalidParametersException(f"Product {product.id} has more than one launch path: specify a PathId.")

    def _product_for_read(self, id_: str | None, name: str | None) -> ProvisionedProduct:
        """The live product, or a gone one whose old view a lagging replica still shows."""
        try:
            return self._live_product(id_, name)
        except ResourceNotFoundException:
            gone = [
                p
                for p in self._provisioned.values()
                if p.terminated
                and (id_ or name) in (p.id, p.name, p.arn)
                and self.consistency.lagging("provisioned_product", p.id)
            ]
            if not gone:
                raise
            return gone[-1]

    def _live_by_name(self, name: str) -> ProvisionedProduct | None:
        """The live product of that name, or of that ARN (where the model accepts either)."""
        return next(
            (p for p in self._provisioned.values() if name in (p.name, p.arn) and not p.terminated),
            None,
        )

    def _catalog_product(self, product_id: str | None, product_name: str | None, *, default: str) -> Product:
        if product_name is not None:
            found = next((p for p in self._products.values() if p.name == product_name), None)
            if found is None:
                raise ResourceNotFoundException(f"Product {product_name} not found.")
            return found
        chosen = product_id or default
        product = self._products.get(chosen)
        if product is None:
            raise ResourceNotFoundException(f"Product {chosen} not found.")
        return product

    def _product_artifact(
        self, product: Product, artifact_id: str | None, artifact_name: str | None, *, default: str
    ) -> Artifact:
        if artifact_name is not None:
            found = next((a for a in product.artifacts.values() if a.name == artifact_name), None)
        else:
            found = product.artifacts.get(artifact_id or default)
        if found is None:
            raise ResourceNotFoundException(
                f"Provisioning artifact {artifact_name or artifact_id or default} not found for product {product.id}."
            )
        return found

    def _live_product(self, id_: str | None, name: str | None) -> ProvisionedProduct:
        if (id_ is None) == (name is None):
            raise InvalidParametersException("Provide either the provisioned product id or its name, not both.")
        if id_ is not None:
            found = self._provisioned.get(id_)
            if found is not None and not found.terminated:
                return found
            raise ResourceNotFoundException(f"Provisioned product {id_} not found.")
        assert name is not None
        by_name = self._live_by_name(name)
        if by_name is None:
            raise ResourceNotFoundException(f"Provisioned product {name} not found.")
        return by_name

    def _new_provisioned_product(self, name: str, product_id: str, artifact_id: str, now: float) -> ProvisionedProduct:
        pp_id = new_id("pp-")
        product = ProvisionedProduct(
            id=pp_id,
            name=name,
            arn=f"arn:aws:servicecatalog:{self.region}:{self.account_id}:stack/{name}/{pp_id}",
            created_time=now,
            status="PLAN_IN_PROGRESS",
            status_message="",
            product_id=product_id,
            provisioning_artifact_id=artifact_id,
        )
        self._provisioned[pp_id] = product
        return product

    def _new_record(
        self,
        record_type: RecordType,
        product: ProvisionedProduct,
        *,
        artifact_id: str,
        path_id: str | None,
        duration: float,
        errors: Sequence[RecordError],
        in_error_duration: float,
        tags: Sequence[Mapping[str, str]],
        script: ProvisioningScript,
    ) -> Record:
        now = self._clock()
        total, in_error = self._scaled(duration), self._scaled(in_error_duration)
        final: RecordStatus = "FAILED" if errors else "SUCCEEDED"
        timeline: list[tuple[float, RecordStatus]] = [(now, "CREATED")]
        if total > 0:
            timeline.append((now + total * _CREATED_SHARE, "IN_PROGRESS"))
            if errors and in_error > 0:
                timeline.append((now + max(total - in_error, total * _CREATED_SHARE), "IN_PROGRESS_IN_ERROR"))
        timeline.append((now + total, final))
        record = Record(
            id=new_id("rec-"),
            record_type=record_type,
            provisioned_product_id=product.id,
            provisioned_product_name=product.name,
            product_id=product.product_id,
            provisioning_artifact_id=artifact_id,
            path_id=path_id,
            created_time=now,
            updated_time=now,
            status="CREATED",
            timeline=timeline,
            errors=[RecordError(*e) for e in errors],
            outputs=[],
            tags=[{"Key": t["Key"], "Value": t["Value"]} for t in tags],
        )
        self._records[record.id] = record
        self._active_records.add(record.id)
        self._scripts[record.id] = script
        product.last_record_id = record.id
        if record_type != "TERMINATE_PROVISIONED_PRODUCT" and not product.stack_arn:
            # Service Catalog launches a CloudFormation stack named SC-<account>-<provisioned product id>.
            product.stack_arn = (
                f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/"
                f"SC-{self.account_id}-{product.id}/{uuid.uuid4()}"
            )
        return record

    def _advance(self) -> None:
        """Apply every transition due by now, in the order they fell due."""
        now = self._clock()
        for plan_id in sorted(self._active_plans, key=lambda p: self._plans[p].ready_time):
            plan = self._plans[plan_id]
            if plan.ready_time <= now:
                self._finish_plan_creation(plan)
        due = [self._records[r] for r in self._active_records]
        for record in sorted(due, key=lambda r: r.timeline[-1][0]):
            reached = [(t, s) for t, s in record.timeline if t <= now]
            when, status = reached[-1]
            if status != record.status:
                record.status, record.updated_time = status, when
            if status in TERMINAL_RECORD_STATUSES:
                self._settle(record)

    def _finish_plan_creation(self, plan: Plan) -> None:
        self._active_plans.discard(plan.id)
        plan.updated_time = plan.ready_time
        failure = plan.script.plan_failure or (self.rules.no_changes_message if plan.no_changes else None)
        if failure is None:
            plan.status = "CREATE_SUCCESS"
            return
        plan.status, plan.status_message = "CREATE_FAILED", failure
        product = self._provisioned.get(plan.provisioned_product_id)
        placeholder = product is not None and product.status == "PLAN_IN_PROGRESS"
        if product is not None and placeholder and self.rules.placeholder_status_after_failed_plan == "ERROR":
            product.status, product.status_message = "ERROR", failure

    def _settle(self, record: Record) -> None:
        """Apply a finished record's effects to its provisioned product and plan, exactly once."""
        self._active_records.discard(record.id)
        record.settled = True
        script = self._scripts.pop(record.id)
        product = self._provisioned[record.provisioned_product_id]
        succeeded = record.status == "SUCCEEDED"
        message = "" if succeeded else "; ".join(e.description for e in record.errors)
        if record.record_type == "TERMINATE_PROVISIONED_PRODUCT":
            if succeeded:
                self.consistency.changed("provisioned_product", product.id, copy.deepcopy(product))
                product.terminated = True
                product.physical_resources_retained = record.retain_physical_resources
            else:
                product.status, product.status_message = "ERROR", message
            return
        plan = self._plans.get(record.plan_id) if record.plan_id else None
        if plan is not None:
            plan.status = "EXECUTE_SUCCESS" if succeeded else "EXECUTE_FAILED"
            plan.updated_time = record.updated_time
        if succeeded:
            record.outputs = [
                {"OutputKey": k, "OutputValue": v, "Description": script.output_descriptions.get(k, "")}
                for k, v in script.outputs.items()
            ]
            # The product's own stack, among the record's outputs (docs/emulator-rules.md#product-stacks).
            record.outputs.append(
                {"OutputKey": STACK_ARN_OUTPUT, "OutputValue": product.stack_arn, "Description": STACK_ARN_DESCRIPTION}
            )
            product.status = script.product_status_after_success
            product.status_message = script.product_status_message
            product.product_id = record.product_id
            product.provisioning_artifact_id = record.provisioning_artifact_id
            product.path_id = record.path_id
            product.parameters = [dict(p) for p in record.parameters]
            product.outputs = dict(script.outputs)
            product.last_successful_provisioning_record_id = record.id
        elif record.record_type == "UPDATE_PROVISIONED_PRODUCT" and product.last_successful_provisioning_record_id:
            # CloudFormation rolled the stack back: previous artifact, parameters and outputs stay; TAINTED.
            product.status, product.status_message = "TAINTED", message
        else:
            product.status, product.status_message = "ERROR", message


STACK_ARN_OUTPUT = "CloudformationStackARN"
STACK_ARN_DESCRIPTION = "The ARN of the launched Cloudformation Stack"
# What the product's stack shows for each product status (a failed update rolled back: TAINTED).
_STACK_STATUS = {
    "AVAILABLE": "UPDATE_COMPLETE",
    "UNDER_CHANGE": "UPDATE_IN_PROGRESS",
    "TAINTED": "UPDATE_ROLLBACK_COMPLETE",
    "ERROR": "ROLLBACK_COMPLETE",
    "PLAN_IN_PROGRESS": "REVIEW_IN_PROGRESS",
}


def _stack_name(stack_arn: str) -> str:
    return stack_arn.split(":stack/", 1)[1].split("/", 1)[0]
