"""Stack operations as CloudFormation sequences them for custom resources.

Keeps, per resource, what CloudFormation keeps (physical id, last accepted properties, Data) and
derives the follow-up requests a handler must survive: rollback Deletes after a failed Create,
rollback Updates after a failed Update, cleanup Deletes after a replacement.

Assumptions about CloudFormation (documented behaviour where it exists, observed otherwise):

* A failed Create is rolled back with a Delete carrying the FAILED response's PhysicalResourceId,
  or an invented ``<stack>-<logical>-<random>`` id if it had none (or no answer came).
* A failed Update never changes the recorded physical id: CloudFormation records a new id only
  from a SUCCESS. The rollback Update therefore carries the id in place *before* the failed
  update, ResourceProperties = the old properties and OldResourceProperties = the failed new
  ones, even if the FAILED response named another id.
* A resource whose Update succeeded with a new id (replacement) is not sent an Update on
  rollback: CloudFormation switches back to the old id (the old resource still exists, since
  cleanup had not run) and deletes the new id in the rollback cleanup phase. An in-place
  updated resource gets a rollback Update like the failed one. If a rollback Update answers
  SUCCESS with yet another id, that id is recorded and nothing else is sent.
* Cleanup-phase Delete failures do not fail the stack (UPDATE_COMPLETE stays UPDATE_COMPLETE).
* DeletionPolicy Retain suppresses every Delete of that resource, rollback of its own Create
  included; RetainExceptOnCreate still deletes on create rollback. UpdateReplacePolicy Retain
  suppresses the cleanup Delete after a replacement.
* A rollback that fails ends in ROLLBACK_FAILED / UPDATE_ROLLBACK_FAILED after trying the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from local_cloud.cloudformation.driver import CloudFormationDriver
from local_cloud.cloudformation.events import (
    RequestType,
    make_stack_id,
    resource_properties,
    validate_resource_type,
)
from local_cloud.cloudformation.outcome import Delivery, Outcome, Phase, ProgressEvent

__all__ = ["CustomResource", "HistoryRow", "Stack", "StackResult"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _serialized(method: Callable[Concatenate[Stack, _P], _R]) -> Callable[Concatenate[Stack, _P], _R]:
    """One stack operation at a time, as CloudFormation refuses concurrent operations on a stack."""

    def wrapper(self: Stack, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self._lock:
            return method(self, *args, **kwargs)

    wrapper.__name__, wrapper.__qualname__ = method.__name__, method.__qualname__
    wrapper.__doc__ = method.__doc__
    return wrapper


DeletionPolicy = Literal["Delete", "Retain", "RetainExceptOnCreate"]
UpdateReplacePolicy = Literal["Delete", "Retain"]


@dataclass
class CustomResource:
    """One ``Custom::`` resource: its template definition plus the state CloudFormation records."""

    logical_id: str
    properties: dict[str, Any]
    resource_type: str = "Custom::ServiceCatalogPlan"
    service_timeout: int | None = None
    deletion_policy: DeletionPolicy = "Delete"
    update_replace_policy: UpdateReplacePolicy = "Delete"
    physical_resource_id: str | None = field(default=None, compare=False)
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        validate_resource_type(self.resource_type)


@dataclass(frozen=True)
class HistoryRow:
    """One line of the summary table: a request sent (or a Delete skipped by policy)."""

    phase: str
    request_type: str
    logical_id: str
    status: str
    reason: str
    physical_resource_id: str | None
    record_id: str | None
    seconds: float
    answers: int
    """PUTs received when the row was written; ``summary`` shows the live count."""
    outcome: Outcome | None = field(default=None, repr=False)


@dataclass(frozen=True)
class StackResult:
    """Result of one stack operation: the final stack status and every request's outcome."""

    status: str
    outcomes: tuple[Outcome, ...]

    def by_phase(self, phase: Phase) -> list[Outcome]:
        """Outcomes of one phase (create, update, delete, rollback, cleanup, rollback-cleanup)."""
        return [o for o in self.outcomes if o.phase == phase]


class Stack:
    """A stack of custom resources, driven through create, update and delete like CloudFormation."""

    def __init__(self, driver: CloudFormationDriver, name: str, *, record_id_key: str = "RecordId") -> None:
        self.driver = driver
        self.name = name
        self.stack_id = make_stack_id(name, region=driver.region, account_id=driver.account_id)
        self.status = "NOT_CREATED"  # not a CloudFormation status: nothing was submitted yet
        self.resources: dict[str, CustomResource] = {}
        self.history: list[HistoryRow] = []
        self.record_id_key = record_id_key
        self._outcomes: list[Outcome] = []
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------------------------------

    def _set_status(self, status: str) -> None:
        self.status = status
        self.driver.states.stack_status(self.stack_id, status)
        self.driver.emit(ProgressEvent(kind="stack-status", message=f"{self.name}: {status}", stack_status=status))

    def _props(self, resource: CustomResource) -> dict[str, Any]:
        """ResourceProperties as CloudFormation delivers them for this definition."""
        return resource_properties(resource.properties, self.driver.service_token, resource.service_timeout)

    def _send(
        self,
        request_type: RequestType,
        resource: CustomResource,
        phase: Phase,
        *,
        physical_id: str | None = None,
        old: CustomResource | None = None,
        delivery: Delivery | None = None,
    ) -> Outcome:
        outcome = self.driver.send(
            request_type=request_type,
            stack_id=self.stack_id,
            resource_type=resource.resource_type,
            logical_resource_id=resource.logical_id,
            properties=resource.properties,
            physical_resource_id=physical_id,
            old_properties=self._props(old) if old is not None else None,
            service_timeout=resource.service_timeout,
            delivery=delivery,
            phase=phase,
            stack_driven=True,
        )
        record_id = outcome.data.get(self.record_id_key)
        self.history.append(
            HistoryRow(
                phase=phase,
                request_type=request_type,
                logical_id=resource.logical_id,
                status=outcome.status,
                reason=outcome.reason,
                physical_resource_id=outcome.physical_resource_id,
                record_id=str(record_id) if record_id is not None else None,
                seconds=outcome.seconds,
                answers=outcome.answers,
                outcome=outcome,
            )
        )
        self._outcomes.append(outcome)
        return outcome

    def _retained(self, resource: CustomResource, phase: Phase, policy: str) -> None:
        self.history.append(
            HistoryRow(
                phase=phase,
                request_type="Delete",
                logical_id=resource.logical_id,
                status="SKIPPED",
                reason=f"{policy} Retain: no Delete sent",
                physical_resource_id=resource.physical_resource_id,
                record_id=None,
                seconds=0.0,
                answers=0,
            )
        )
        self.driver.emit(
            ProgressEvent(kind="request", message=f"{phase}: Delete {resource.logical_id} skipped ({policy} Retain)")
        )

    def _result(self, mark: int) -> StackResult:
        return StackResult(status=self.status, outcomes=tuple(self._outcomes[mark:]))

    # -- operations -------------------------------------------------------------------------------

    @_serialized
    def create(self, *resources: CustomResource, delivery: Delivery | None = None) -> StackResult:
        """Create every resource in order; on the first failure roll back what was created."""
        if self.resources:
            raise RuntimeError("stack already created")
        mark = len(self._outcomes)
        self._set_status("CREATE_IN_PROGRESS")
        created: list[CustomResource] = []
        for definition in resources:
            resource = replace(definition, physical_resource_id=None, data={})
            outcome = self._send("Create", resource, "create", delivery=delivery)
            resource.physical_resource_id = outcome.physical_resource_id
            created.append(resource)
            if not outcome.succeeded:
                self._rollback_create(created)
                return self._result(mark)
            resource.data = dict(outcome.data)
            self.resources[resource.logical_id] = resource
        self._set_status("CREATE_COMPLETE")
        return self._result(mark)

    def _rollback_create(self, created: list[CustomResource]) -> None:
        self._set_status("ROLLBACK_IN_PROGRESS")
        failed = False
        for resource in reversed(created):
            if resource.deletion_policy == "Retain":
                self._retained(resource, "rollback", "DeletionPolicy")
                continue
            outcome = self._send("Delete", resource, "rollback", physical_id=resource.physical_resource_id)
            failed = failed or not outcome.succeeded
        self.resources.clear()
        self._set_status("ROLLBACK_FAILED" if failed else "ROLLBACK_COMPLETE")

    @_serialized
    def update(self, *definitions: CustomResource, delivery: Delivery | None = None) -> StackResult:
        """Update the given resources (matched by logical id); unchanged ones get no request."""
        mark = len(self._outcomes)
        changes: list[tuple[CustomResource, CustomResource]] = []
        for definition in definitions:
            current = self.resources.get(definition.logical_id)
            if current is None:
                raise KeyError(f"no resource {definition.logical_id!r} in stack {self.name}")
            if definition.resource_type != current.resource_type:
                raise ValueError("a custom resource's type cannot change in an update")
            new = replace(
                definition,
                physical_resource_id=current.physical_resource_id,
                data=dict(current.data),
            )
            if self._props(new) != self._props(current) or (
                (new.deletion_policy, new.update_replace_policy)
                != (current.deletion_policy, current.update_replace_policy)
            ):
                changes.append((current, new))
        self._set_status("UPDATE_IN_PROGRESS")

        applied: list[tuple[CustomResource, CustomResource]] = []  # (old state, new state)
        for old, new in changes:
            if self._props(new) == self._props(old):  # only policies changed: no request
                self.resources[new.logical_id] = new
                applied.append((old, new))
                continue
            outcome = self._send(
                "Update", new, "update", physical_id=old.physical_resource_id, old=old, delivery=delivery
            )
            if not outcome.succeeded:
                self._rollback_update(applied, old, new)
                return self._result(mark)
            new.physical_resource_id = outcome.physical_resource_id
            new.data = dict(outcome.data)
            self.resources[new.logical_id] = new
            applied.append((old, new))

        self._set_status("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        for old, new in applied:
            if new.physical_resource_id != old.physical_resource_id:
                if new.update_replace_policy == "Retain":
                    self._retained(old, "cleanup", "UpdateReplacePolicy")
                    continue
                self._send("Delete", old, "cleanup", physical_id=old.physical_resource_id)
        self._set_status("UPDATE_COMPLETE")
        return self._result(mark)

    def _rollback_update(
        self,
        applied: list[tuple[CustomResource, CustomResource]],
        failed_old: CustomResource,
        failed_new: CustomResource,
    ) -> None:
        self._set_status("UPDATE_ROLLBACK_IN_PROGRESS")
        rollback_failed = False
        to_discard: list[CustomResource] = []
        for old, new in [(failed_old, failed_new), *reversed(applied)]:
            if new.physical_resource_id != old.physical_resource_id:
                to_discard.append(new)  # a replacement: go back to the old id, delete the new later
                self.resources[old.logical_id] = old
                self.driver.states.resource_reverted(self.stack_id, old.logical_id, old.physical_resource_id)
                continue
            if self._props(new) == self._props(old):
                self.resources[old.logical_id] = old
                continue
            outcome = self._send("Update", old, "rollback", physical_id=old.physical_resource_id, old=new)
            if not outcome.succeeded:
                rollback_failed = True
                self.resources[old.logical_id] = new  # CloudFormation leaves it as it was
                continue
            restored = replace(old, physical_resource_id=outcome.physical_resource_id, data=dict(outcome.data))
            self.resources[old.logical_id] = restored
        if rollback_failed:
            self._set_status("UPDATE_ROLLBACK_FAILED")
            return
        self._set_status("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        for new in to_discard:
            self._send("Delete", new, "rollback-cleanup", physical_id=new.physical_resource_id)
        self._set_status("UPDATE_ROLLBACK_COMPLETE")

    @_serialized
    def delete(self, delivery: Delivery | None = None) -> StackResult:
        """Delete the resources in reverse order, skipping DeletionPolicy Retain ones."""
        mark = len(self._outcomes)
        self._set_status("DELETE_IN_PROGRESS")
        failed = False
        for resource in reversed(list(self.resources.values())):
            if resource.deletion_policy in ("Retain", "RetainExceptOnCreate"):
                self._retained(resource, "delete", "DeletionPolicy")
                del self.resources[resource.logical_id]
                continue
            outcome = self._send(
                "Delete", resource, "delete", physical_id=resource.physical_resource_id, delivery=delivery
            )
            if outcome.succeeded:
                del self.resources[resource.logical_id]
            else:
                failed = True
        self._set_status("DELETE_FAILED" if failed else "DELETE_COMPLETE")
        return self._result(mark)

    # -- reporting --------------------------------------------------------------------------------

    def summary(self, rows: Iterable[HistoryRow] | None = None) -> str:
        """A plain-text table of every request: phase, request, answer, physical id, record, time."""
        header = ("phase", "request", "resource", "answer", "physical id", "record", "PUTs", "seconds")
        lines = [header]
        for row in self.history if rows is None else rows:
            lines.append(
                (
                    row.phase,
                    row.request_type,
                    row.logical_id,
                    row.status,
                    row.physical_resource_id or "-",
                    row.record_id or "-",
                    str(row.outcome.answers if row.outcome is not None else row.answers),
                    f"{row.seconds:.2f}",
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        rendered = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
        rendered.insert(1, "  ".join("-" * w for w in widths))
        rendered.append(f"stack {self.name}: {self.status}")
        return "\n".join(rendered)
