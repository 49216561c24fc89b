"""The sequences the fault sweep plays: what a user and CloudFormation do to one resource, in both modes.

Each sequence is a short story on a fresh local cloud: set-up stack operations (never faulted),
what the user does between them, and one subject stack operation whose requests the sweep faults.
A user of plan mode deletes the executed plan before creating the product's next one (the real
service allows one plan per provisioned product: `ServiceRules.real()`, rule 3), so a rollback there
finds its plan gone and must restore from the provider's record.

Steps are the requests CloudFormation sends, numbered from 0 in the order sent; `subject_from` is
the first step the sweep may fault (earlier ones are set-up, swept by the sequences they are the
subject of).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import CustomResource, Stack
from local_cloud.servicecatalog import ProvisioningScript, SeededProduct

__all__ = ["MODES", "SEQUENCES", "SERVICE_TIMEOUT_SECONDS", "Mode", "Sequence", "Version", "World", "sequence"]

Mode = Literal["plan", "spec"]
MODES: tuple[Mode, ...] = ("plan", "spec")

# CloudFormation's wait for each request (the driver waits it in real seconds): longer than the
# slowest fault the sweep plans (the answer's PUT failing for a whole delivery window, ~1 min, then
# Lambda's retry), short enough that a request never answered costs minutes, not an hour.
SERVICE_TIMEOUT_SECONDS = 150
PROVISIONING_SECONDS = 0.5
# The continued sequence: a function that lives 5 s and a provisioning of 6 s need a hand-over.
SHORT_FUNCTION_TIMEOUT_SECONDS = 5.0
LONG_PROVISIONING_SECONDS = 6.0
SIZE = "Size"
# The e2e suites' fast polling, with learning on (as without Polling* properties): a run spends its
# time on faults, not on waits a user would tune anyway.
POLLING = {
    "PollingIntervalSeconds": 0.2,
    "PollingBackoffRate": 1.0,
    "PollingMaxIntervalSeconds": 0.2,
    "LearnedPolling": True,
}


@dataclass(frozen=True)
class Version:
    """What a resource's properties declare for its product: the artifact and the parameters."""

    artifact_id: str
    parameters: Mapping[str, str]


@dataclass
class World:
    """One run: its cloud, its stack, and the catalog objects the user made (plans in plan mode)."""

    cloud: LocalCloud
    mode: Mode
    stack: Stack
    duration: float = PROVISIONING_SECONDS
    products: dict[str, SeededProduct] = field(default_factory=dict)
    user_plans: dict[str, Version] = field(default_factory=dict)  # plan id -> what it declares
    _current_plans: dict[str, str] = field(default_factory=dict)  # provisioned product name -> its user plan

    def product(self, name: str) -> SeededProduct:
        """A catalog product with versions v1 and v2 (their outputs tell them apart), seeded once."""
        if name not in self.products:
            self.products[name] = self.cloud.servicecatalog.add_product(
                name,
                artifacts={
                    version: ProvisioningScript(duration=self.duration, outputs={"Name": f"{name}-{version}"})
                    for version in ("v1", "v2")
                },
            )
        return self.products[name]

    def resource(self, logical_id: str, product: str, version: str, size: str, name: str) -> CustomResource:
        """The resource as the template declares it: a plan the user made (plan mode) or the spec."""
        seeded = self.product(product)
        artifact_id = seeded.artifact_id(version)
        parameters = [{"Key": SIZE, "Value": size}]
        if self.mode == "plan":
            properties: dict[str, Any] = {"PlanId": self._plan(seeded, artifact_id, name, parameters)}
        else:
            properties = {
                "ProductId": seeded.id,
                "ProvisioningArtifactId": artifact_id,
                "ProvisionedProductName": name,
                "ProvisioningParameters": parameters,
            }
        return CustomResource(
            logical_id, {**POLLING, **properties}, RESOURCE_TYPE, service_timeout=SERVICE_TIMEOUT_SECONDS
        )

    def broken(self, logical_id: str) -> CustomResource:
        """A resource whose request fails at validation, before any Service Catalog call."""
        properties: dict[str, Any] = (
            {"PlanId": "bad id"}
            if self.mode == "plan"
            else {"ProductId": "bad id", "ProvisioningArtifactId": "pa-x", "ProvisionedProductName": "broken-pp"}
        )
        return CustomResource(logical_id, properties, RESOURCE_TYPE, service_timeout=SERVICE_TIMEOUT_SECONDS)

    def declared(self, resource: CustomResource) -> Version | None:
        """The version the resource's current properties declare; None when they name none."""
        props = resource.properties
        if "PlanId" in props:
            return self.user_plans.get(str(props["PlanId"]))
        if "ProvisioningArtifactId" not in props:
            return None
        parameters = {str(p["Key"]): str(p["Value"]) for p in props.get("ProvisioningParameters", [])}
        return Version(str(props["ProvisioningArtifactId"]), parameters)

    def _plan(self, seeded: SeededProduct, artifact_id: str, name: str, parameters: list[dict[str, str]]) -> str:
        """The user's plan; the product's previous one (executed) is deleted first, as the real
        service requires (IgnoreErrors, as servicecatalog-puppet deletes every plan)."""
        sc = self.cloud.servicecatalog
        previous = self._current_plans.pop(name, None)
        if previous is not None:
            sc.client().delete_provisioned_product_plan(PlanId=previous, IgnoreErrors=True)
        plan_id = sc.create_plan(seeded.id, artifact_id, name, parameters=parameters).id
        self.user_plans[plan_id] = Version(artifact_id, {p["Key"]: p["Value"] for p in parameters})
        self._current_plans[name] = plan_id
        return plan_id

    def names(self, base: str) -> str:
        """Provisioned product names differ per mode (spec mode names its products itself)."""
        return f"{base}-pp" if self.mode == "plan" else f"spec-{base}-pp"


Play = Callable[[World], None]


@dataclass(frozen=True)
class Sequence:
    """One story: `play` runs its set-up and its subject; steps from `subject_from` on are swept."""

    name: str
    mode: Mode
    description: str
    play: Play
    subject_from: int
    function_timeout: float | None = None
    duration: float = PROVISIONING_SECONDS

    @property
    def key(self) -> str:
        return f"{self.mode}/{self.name}"


def _bucket(world: World, version: str = "v1", size: str = "1", base: str = "bucket") -> CustomResource:
    return world.resource("Bucket", "bucket", version, size, world.names(base))


def _queue(world: World) -> CustomResource:
    return world.resource("Queue", "queue", "v1", "1", world.names("queue"))


def _create(world: World) -> None:
    world.stack.create(_bucket(world))


def _update(world: World) -> None:
    world.stack.create(_bucket(world))
    world.stack.update(_bucket(world, "v2", "2"))


def _replace(world: World) -> None:
    world.stack.create(_bucket(world))
    world.stack.update(_bucket(world, base="bucket2"))


def _rollback_update(world: World) -> None:
    world.stack.create(_bucket(world), _queue(world))
    world.stack.update(_bucket(world, "v2", "2"), world.broken("Queue"))


def _rollback_replace(world: World) -> None:
    world.stack.create(_bucket(world), _queue(world))
    world.stack.update(_bucket(world, base="bucket2"), world.broken("Queue"))


def _rollback_create(world: World) -> None:
    world.stack.create(_bucket(world), world.broken("Broken"))


def _delete(world: World) -> None:
    world.stack.create(_bucket(world))
    world.stack.delete()


_STORIES: tuple[tuple[str, str, Play, int], ...] = (
    ("create", "Create", _create, 0),
    ("update", "Update to a new plan/spec of the same product (in place)", _update, 1),
    ("replace", "Update to a plan/spec of another provisioned product: replacement, then cleanup Delete", _replace, 1),
    (
        "rollback-update",
        "Update in place, a sibling's Update fails: rollback Updates (the sibling, then this one)",
        _rollback_update,
        3,
    ),
    (
        "rollback-replace",
        "Replacement, a sibling's Update fails: rollback Update of the sibling, rollback-cleanup Delete",
        _rollback_replace,
        3,
    ),
    ("rollback-create", "Create, a sibling's Create fails: rollback Deletes", _rollback_create, 1),
    ("delete", "Delete", _delete, 1),
)


def _sequences() -> tuple[Sequence, ...]:
    found = [
        Sequence(name, mode, description, play, subject_from)
        for mode in MODES
        for name, description, play, subject_from in _STORIES
    ]
    found += [
        Sequence(
            "continued",
            mode,
            "Create outliving its invocation: the request is handed over (Lambda Invoke) and resumed",
            _create,
            0,
            function_timeout=SHORT_FUNCTION_TIMEOUT_SECONDS,
            duration=LONG_PROVISIONING_SECONDS,
        )
        for mode in MODES
    ]
    return tuple(found)


SEQUENCES: tuple[Sequence, ...] = _sequences()


def sequence(key: str) -> Sequence:
    """The sequence named ``mode/name``."""
    for each in SEQUENCES:
        if each.key == key:
            return each
    raise KeyError(f"no sweep sequence {key!r}; known: {', '.join(s.key for s in SEQUENCES)}")
