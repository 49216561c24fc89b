"""What CloudFormation shows of the stacks the driver plays, as they move: its read API's data.

CloudFormation marks a resource ``<TYPE>_IN_PROGRESS`` before it sends the resource's request and
keeps it so while it waits, then ``<TYPE>_COMPLETE`` or ``<TYPE>_FAILED``; the stack's status says
which phase runs (``UPDATE_COMPLETE_CLEANUP_IN_PROGRESS`` while replaced resources are deleted,
``ROLLBACK_IN_PROGRESS`` while a failed Create is undone). A replaced resource's cleanup Delete
does not change what ``DescribeStackResource`` shows: the resource's *current* physical id, already
the new one (docs/facts.md#what-cloudformation-shows-while-it-waits). ``DescribeStacks`` by stack
id still answers for a deleted stack (``DELETE_COMPLETE``); ``DescribeStackResource`` answers with
the resource's last state, as botocore's model says it does for 90 days.

The driver records each request here as it sends it (``request_sent``/``request_answered``); a
``Stack`` records its status transitions. A request sent with ``driver.send`` outside any ``Stack``
gets the stack status its phase implies, so single-request tests see what CloudFormation would.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["PHASE_STACK_STATUS", "ResourceState", "StackState", "StackStates", "UnknownStackError"]

# The stack's status while a request of this phase is out, when no Stack says otherwise.
PHASE_STACK_STATUS = {
    ("create", "Create"): "CREATE_IN_PROGRESS",
    ("update", "Update"): "UPDATE_IN_PROGRESS",
    ("delete", "Delete"): "DELETE_IN_PROGRESS",
    ("rollback", "Delete"): "ROLLBACK_IN_PROGRESS",
    ("rollback", "Update"): "UPDATE_ROLLBACK_IN_PROGRESS",
    ("cleanup", "Delete"): "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    ("rollback-cleanup", "Delete"): "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
}
_CLEANUP_PHASES = ("cleanup", "rollback-cleanup")


class UnknownStackError(LookupError):
    """No stack (or no resource of it) by that name or id: CloudFormation's ValidationError."""


@dataclass
class ResourceState:
    logical_id: str
    resource_type: str
    status: str
    physical_id: str | None
    updated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass
class StackState:
    stack_id: str
    name: str
    status: str
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    resources: dict[str, ResourceState] = field(default_factory=dict)
    parameters: list[tuple[str, str]] = field(default_factory=list)  # (key, value); NoEcho as ****


class StackStates:
    """Every stack the local CloudFormation has played, by stack id; thread-safe."""

    def __init__(self, other_stacks: Callable[[str], StackState | None] | None = None) -> None:
        """`other_stacks` finds the stacks the driver does not play, by name or id (the stacks behind
        the emulated provisioned products)."""
        self._lock = threading.Lock()
        self._stacks: dict[str, StackState] = {}
        self._other_stacks = other_stacks

    def stack_status(self, stack_id: str, status: str) -> None:
        """A stack operation moved the stack to ``status``."""
        with self._lock:
            self._stack(stack_id).status = status

    def request_sent(
        self,
        stack_id: str,
        logical_id: str,
        resource_type: str,
        *,
        request_type: str,
        phase: str,
        physical_id: str | None,
        stack_driven: bool,
    ) -> None:
        """CloudFormation marks the resource in progress before it sends the request (a cleanup Delete
        leaves the resource as it is: the resource already has its new physical id)."""
        with self._lock:
            stack = self._stack(stack_id)
            if not stack_driven:
                stack.status = PHASE_STACK_STATUS.get((phase, request_type), f"{request_type.upper()}_IN_PROGRESS")
            if phase in _CLEANUP_PHASES:
                return
            current = stack.resources.get(logical_id)
            stack.resources[logical_id] = ResourceState(
                logical_id,
                resource_type,
                f"{request_type.upper()}_IN_PROGRESS",
                physical_id if physical_id is not None else (current.physical_id if current else None),
            )

    def request_answered(
        self, stack_id: str, logical_id: str, *, request_type: str, phase: str, physical_id: str | None, succeeded: bool
    ) -> None:
        """The answer (or its absence) decided the request: the resource is complete or failed; a
        successful Create or Update records the physical id it answered."""
        if phase in _CLEANUP_PHASES:
            return
        with self._lock:
            resource = self._stack(stack_id).resources.get(logical_id)
            if resource is None:
                return
            resource.status = f"{request_type.upper()}_{'COMPLETE' if succeeded else 'FAILED'}"
            if succeeded and request_type in ("Create", "Update") and physical_id:
                resource.physical_id = physical_id
            resource.updated = dt.datetime.now(dt.UTC)

    def resource_reverted(self, stack_id: str, logical_id: str, physical_id: str | None) -> None:
        """A rollback put a replaced resource back to its old physical id without a request: CloudFormation
        shows the old resource again (`UPDATE_COMPLETE`), and the replacement is cleaned up later."""
        with self._lock:
            resource = self._stack(stack_id).resources.get(logical_id)
            if resource is None:
                return
            resource.physical_id = physical_id
            resource.status = "UPDATE_COMPLETE"
            resource.updated = dt.datetime.now(dt.UTC)

    def describe_stack(self, name_or_id: str) -> StackState:
        """By stack id (also a deleted stack), or by name (a live stack only)."""
        with self._lock:
            try:
                stack = self._find(name_or_id)
            except UnknownStackError:
                other = self._other_stacks(name_or_id) if self._other_stacks is not None else None
                if other is None:
                    raise
                return other
            return StackState(stack.stack_id, stack.name, stack.status, stack.created, dict(stack.resources))

    def describe_stack_resource(self, name_or_id: str, logical_id: str) -> tuple[StackState, ResourceState]:
        with self._lock:
            stack = self._find(name_or_id)
            resource = stack.resources.get(logical_id)
            if resource is None:
                raise UnknownStackError(f"Resource {logical_id} does not exist for stack {name_or_id}")
            return stack, ResourceState(
                resource.logical_id, resource.resource_type, resource.status, resource.physical_id, resource.updated
            )

    def _stack(self, stack_id: str) -> StackState:
        stack = self._stacks.get(stack_id)
        if stack is None:
            name = stack_id.split(":stack/", 1)[-1].split("/", 1)[0]
            stack = self._stacks[stack_id] = StackState(stack_id, name, "CREATE_IN_PROGRESS")
        return stack

    def _find(self, name_or_id: str) -> StackState:
        if name_or_id.startswith("arn:"):
            stack = self._stacks.get(name_or_id)
        else:
            live = [s for s in self._stacks.values() if s.name == name_or_id and s.status != "DELETE_COMPLETE"]
            stack = live[-1] if live else None
        if stack is None:
            raise UnknownStackError(f"Stack with id {name_or_id} does not exist")
        return stack
