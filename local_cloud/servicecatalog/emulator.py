"""ServiceCatalogEmulator: the one object tests and the demo use.

It owns the state, the API dispatcher and the HTTP server, and re-exports the seeding, scripting,
fault-injection and inspection helpers so callers never reach into the parts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from local_cloud.gate import RequestGate
from local_cloud.servicecatalog.api import Call, ServiceCatalogApi
from local_cloud.servicecatalog.errors import ServiceCatalogError
from local_cloud.servicecatalog.model import (
    Guidance,
    Plan,
    ProductVersion,
    ProvisionedProduct,
    ProvisioningScript,
    Record,
    RecordType,
    SeededProduct,
    new_id,
)
from local_cloud.servicecatalog.rules import ServiceRules
from local_cloud.servicecatalog.server import ServiceCatalogHttpServer
from local_cloud.servicecatalog.state import ServiceCatalogState
from local_cloud.servicecatalog.validation import validate_value

if TYPE_CHECKING:
    from mypy_boto3_servicecatalog import ServiceCatalogClient

ENDPOINT_ENV_VAR = "AWS_ENDPOINT_URL_SERVICE_CATALOG"


class ServiceCatalogEmulator:
    """A stateful Service Catalog on ``http://127.0.0.1:<free port>`` for unmodified boto3 clients.

    Use as a context manager (or ``start()``/``stop()``). Scripted durations are multiplied by
    ``time_scale``; ``clock`` (seconds since the epoch) can be replaced to drive time by hand.
    ``rules`` is the profile of the real service's stricter rules it plays (rules.py); without one,
    the profile file named by ``LOCAL_CLOUD_SC_PROFILE`` if set, else ``ServiceRules.real()``.
    """

    def __init__(
        self,
        *,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.time,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        port: int = 0,
        rules: ServiceRules | None = None,
        gate: RequestGate | None = None,
    ) -> None:
        """``gate``: IAM, planned faults and the call log in front of every operation (``local_cloud.gate``)."""
        chosen = rules or ServiceRules.from_environment(ServiceRules.real())
        self.state = ServiceCatalogState(
            time_scale=time_scale, clock=clock, region=region, account_id=account_id, rules=chosen
        )
        self.api = ServiceCatalogApi(self.state)
        self._server = ServiceCatalogHttpServer(self.api, port=port, gate=gate)
        self.region = region

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> ServiceCatalogEmulator:
        """Start serving; returns self."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.stop()

    def __enter__(self) -> ServiceCatalogEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self._server.endpoint_url

    @property
    def time_scale(self) -> float:
        """Factor applied to every scripted duration when a plan is created or executed."""
        return self.state.time_scale

    @time_scale.setter
    def time_scale(self, value: float) -> None:
        self.state.time_scale = value

    @property
    def rules(self) -> ServiceRules:
        """The rules profile played now."""
        return self.state.rules

    @rules.setter
    def rules(self, value: ServiceRules) -> None:
        """Play another profile from now on (pending consistency lags are forgotten)."""
        self.state.set_rules(value)

    @contextmanager
    def environment(self) -> Iterator[None]:
        """Point default boto3 clients at the emulator (endpoint, dummy credentials, region) for a while."""
        values = {
            ENDPOINT_ENV_VAR: self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",  # dummy: the emulator checks no signature
            "AWS_DEFAULT_REGION": self.region,
        }
        saved = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for name, old in saved.items():
                if old is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = old

    def client(self, **config: Any) -> ServiceCatalogClient:
        """A boto3 servicecatalog client for this emulator; ``config`` goes to botocore's Config."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "servicecatalog",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - dummy; the emulator checks no signature
            config=Config(**config),
        )

    # ----------------------------------------------------------------- seeding and scripting

    def add_product(
        self,
        name: str,
        script: ProvisioningScript | None = None,
        *,
        artifacts: Mapping[str, ProvisioningScript] | None = None,
        deprecated: Collection[str] = (),
        portfolios: Sequence[str] | None = None,
    ) -> SeededProduct:
        """Seed a product: one artifact "v1" running ``script``, or one artifact per ``artifacts`` entry.

        ``deprecated`` names artifacts whose guidance is DEPRECATED (they update products but launch
        no new one); ``portfolios`` names the portfolios holding it for the caller, one launch path
        each, named after the portfolio (default: one, ``<name>-portfolio``; with several a plan must
        give a PathId). The launch paths' ids are in ``SeededProduct.launch_paths``.
        """
        if script is not None and artifacts is not None:
            raise ValueError("give either script or artifacts, not both")
        chosen = artifacts or {"v1": script or ProvisioningScript()}
        for each in chosen.values():
            self._check_script(each)
        return self.state.add_product(name, chosen, deprecated=deprecated, portfolios=portfolios)

    def set_guidance(self, artifact_id: str, guidance: Guidance) -> None:
        """Mark an artifact DEPRECATED (or DEFAULT again), as its administrator's UpdateProvisioningArtifact would."""
        self.state.set_guidance(artifact_id, guidance)

    def add_tag_update_constraint(self, product_id: str, *, allowed: bool = True, path_id: str | None = None) -> None:
        """A RESOURCE_UPDATE constraint on the product in one portfolio (default: its first launch path),
        with TagUpdateOnProvisionedProduct ALLOWED or NOT_ALLOWED (AWS::ServiceCatalog::ResourceUpdateConstraint).
        End users see it in DescribeProvisioningParameters' ConstraintSummaries as its type only.
        The emulator keeps no tags on provisioned products, so it does not apply them either way."""
        self.state.add_constraint(
            product_id,
            "RESOURCE_UPDATE",
            path_id=path_id,
            parameters={
                "Version": "2.0",
                "Properties": {"TagUpdateOnProvisionedProduct": "ALLOWED" if allowed else "NOT_ALLOWED"},
            },
        )

    def set_script(self, artifact_id: str, script: ProvisioningScript) -> None:
        """Change what future plans/executions/terminations of this artifact do."""
        self._check_script(script)
        self.state.set_artifact_script(artifact_id, script)

    def script_plan(self, plan_id: str, script: ProvisioningScript) -> None:
        """Override the script of one existing plan."""
        self._check_script(script)
        self.state.set_plan_script(plan_id, script)

    def create_plan(
        self,
        product_id: str,
        provisioning_artifact_id: str,
        provisioned_product_name: str,
        *,
        parameters: Sequence[Mapping[str, Any]] = (),
        plan_name: str | None = None,
        tags: Sequence[Mapping[str, str]] = (),
        path_id: str | None = None,
        detect_no_changes: bool = False,
        created_by_caller: bool = True,
    ) -> Plan:
        """Do what CreateProvisionedProductPlan does, without the wire (and without recording a call).

        It stands for what a user would do, so the rules apply as to the wire operation (one plan per
        provisioned product, launch access, the new plan and product briefly not found on the wire).
        Unlike the wire operation, a seeded update plan with the product's own artifact and parameters
        succeeds unless ``detect_no_changes``: seeding a plan usually stands for an edited template.
        ``created_by_caller=False`` makes it another user's plan, which ListProvisionedProductPlans
        lists only with AccessLevelFilter ``Account``.
        """
        return self.state.create_plan(
            plan_name=plan_name or f"{provisioned_product_name}-plan",
            product_id=product_id,
            provisioning_artifact_id=provisioning_artifact_id,
            provisioned_product_name=provisioned_product_name,
            idempotency_token=new_id("seed-"),
            parameters=parameters,
            tags=tags,
            path_id=path_id,
            detect_no_changes=detect_no_changes,
            created_by_caller=created_by_caller,
        )

    def provision(
        self,
        product_id: str,
        provisioning_artifact_id: str,
        name: str,
        outputs: Mapping[str, str] | None = None,
        *,
        parameters: Mapping[str, str] | None = None,
        path_id: str | None = None,
    ) -> ProvisionedProduct:
        """Seed an AVAILABLE provisioned product (SUCCEEDED record; outputs default to the script's).

        ``parameters`` and ``path_id`` become its current version, which UsePreviousValue and the
        plans' no-changes check read.
        """
        return self.state.seed_provisioned_product(
            product_id=product_id,
            provisioning_artifact_id=provisioning_artifact_id,
            name=name,
            outputs=outputs,
            parameters=parameters,
            path_id=path_id,
        )

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
        """Give a provisioned product (``pp-``) or a product (``prod-``) finished past records.

        One record per duration (seconds, oldest first, not time-scaled), back to back ``gap``
        seconds apart, the newest ending ``gap`` seconds ago: ListRecordHistory then reports those
        durations without a test waiting for them. ``created_by_caller=False`` makes them another
        user's (listed only with AccessLevelFilter Account). Returns them oldest first.
        """
        return self.state.seed_record_history(
            target_id,
            durations,
            record_type=record_type,
            status=status,
            gap=gap,
            created_by_caller=created_by_caller,
            provisioning_artifact_id=provisioning_artifact_id,
        )

    def _check_script(self, script: ProvisioningScript) -> None:
        """Reject scripted ResourceChanges the real API could never return, before a test relies on them."""
        shape = self.api.service_model.shape_for("ResourceChange")
        for index, change in enumerate(script.resource_changes or ()):
            path = f"ResourceChanges.{index + 1}"
            problems = validate_value(dict(change), shape, path, reject_unknown=True)
            if problems:
                raise ValueError("; ".join(problems))

    # ----------------------------------------------------------------- faults and call log

    def inject_throttling(self, every: int, operations: Iterable[str] | None = None) -> None:
        """Answer every Nth call (of ``operations`` only, if given) with ThrottlingException; 0 stops."""
        self.api.inject_throttling(every, operations)

    def inject_failure(self, operation: str, error: ServiceCatalogError | None, *, times: int | None = None) -> None:
        """Answer the next ``times`` calls (every call if None) of ``operation`` with ``error`` (e.g.
        InvalidStateException); None stops."""
        self.api.inject_failure(operation, error, times=times)

    def inject_not_found(self, operation: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``operation`` with ResourceNotFoundException."""
        self.api.inject_not_found(operation, times)

    def revoke_launch_access(self, product_id: str) -> None:
        """The caller loses access to the product's portfolio: describing, planning, executing and
        updating it answer ResourceNotFoundException "No launch paths found for resource: prod-..."."""
        self.state.set_launch_access(product_id, granted=False)

    def grant_launch_access(self, product_id: str) -> None:
        """Give back the portfolio access ``revoke_launch_access`` took (every product has it at first)."""
        self.state.set_launch_access(product_id, granted=True)

    def deny(self, operations: Iterable[str]) -> None:
        """Answer these operations with AccessDeniedException from now on; an empty list stops."""
        self.api.deny(operations)

    @property
    def calls(self) -> list[Call]:
        """Snapshot of the calls received (throttled and failed ones included, flagged)."""
        return self.api.calls

    def calls_to(self, operation: str) -> list[Call]:
        """The calls received for one operation."""
        return [c for c in self.api.calls if c.operation == operation]

    def clear_calls(self) -> None:
        """Forget the calls received so far."""
        self.api.clear_calls()

    # ----------------------------------------------------------------- inspection

    def plan(self, plan_id: str) -> Plan:
        """Snapshot of a plan now."""
        return self.state.plan(plan_id)

    def record(self, record_id: str) -> Record:
        """Snapshot of a record now."""
        return self.state.record(record_id)

    def provisioned_product(self, provisioned_product_id: str) -> ProvisionedProduct:
        """Snapshot of a provisioned product now (terminated ones stay inspectable, ``terminated=True``)."""
        return self.state.provisioned_product(provisioned_product_id)

    def plans(self) -> list[Plan]:
        """Snapshots of all plans not deleted, oldest first."""
        return self.state.plans()

    def provisioned_products(self) -> list[ProvisionedProduct]:
        """Snapshots of all live provisioned products."""
        return self.state.provisioned_products()

    def records(self) -> list[Record]:
        """Snapshots of all records, oldest first."""
        return self.state.records()

    def current_version(self, provisioned_product_id: str) -> ProductVersion:
        """Product, artifact, path and parameters the product last provisioned or updated successfully with."""
        return self.state.current_version(provisioned_product_id)

    def current_artifact_id(self, provisioned_product_id: str) -> str:
        """The provisioning artifact the product currently runs (a failed update leaves the old one)."""
        return self.state.current_version(provisioned_product_id).provisioning_artifact_id

    def current_parameters(self, provisioned_product_id: str) -> dict[str, str]:
        """The product's current parameter values by key (AWS has no API for these; tests need them)."""
        return self.state.current_version(provisioned_product_id).parameters

    def deleted_plans(self) -> list[str]:
        """Ids of the plans deleted so far (over the wire or not), in deletion order."""
        return self.state.deleted_plans()
