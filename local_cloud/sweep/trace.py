"""A sequence's steps and the call sites in them: where the sweep can put a fault.

The CloudFormation driver announces each request before it invokes the function (a progress event);
`StepRecorder` numbers them and notes where each begins in the call log. Before a step whose calls
must be counted from a clean start (every step of a clean recording, the one step a faulted run
targets), it lets the previous request's last writes land first (an answer's ledger write follows
its PUT by milliseconds; CloudFormation moves on after seconds).

A site is one call the handler makes in one step: service, operation, the table for DynamoDB
(`requests` or `owners`), and its ordinal in the step. Each DynamoDB call, each Service Catalog
write and the Lambda hand-over is a site of its own (each is a different write or read in the
handler's code), its ordinal counting the step's calls of that kind. A Service Catalog read
repeated back to back (a wait's polls, a not-found read retried) is one site, its first call: the
later polls run the same code on the same state, later; its ordinal counts such runs (the k-th
wait on that call in the step), so it does not depend on how many polls earlier waits took.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from local_cloud.cloud import LocalCloud
from local_cloud.cloudformation import ProgressEvent
from local_cloud.gate import CallRecord

__all__ = ["Site", "Step", "StepRecorder", "call_name", "sites_of", "table_role"]

_REQUEST = re.compile(r"^(?P<phase>[a-z-]+): (?P<request_type>Create|Update|Delete) (?P<logical_id>\S+) \(")
_READ_PREFIXES = ("Describe", "List", "Get", "Search", "Scan")
# How long a step boundary waits for the previous request's invocations to finish.
SETTLE_AT_STEP_SECONDS = 5.0


@dataclass(frozen=True)
class Step:
    """One request CloudFormation sent: its phase (create, update, cleanup, rollback...), type and resource."""

    index: int
    phase: str
    request_type: str
    logical_id: str
    first_call: int  # gate call index (admin calls included) after which the step's calls come

    @property
    def label(self) -> str:
        return f"{self.phase} {self.request_type} {self.logical_id}"


@dataclass(frozen=True)
class Site:
    """One call of one step: the ``ordinal``-th call of ``service.operation[table]`` in step ``step``."""

    step: int
    step_label: str
    service: str
    operation: str
    table: str
    ordinal: int

    @property
    def call(self) -> str:
        return call_name(self.service, self.operation, self.table)

    @property
    def counts_runs(self) -> bool:
        """Whether ``ordinal`` counts runs of calls in a row (a read that is polled) or calls."""
        return is_polled(self.service, self.operation)

    @property
    def key(self) -> str:
        return f"step {self.step} ({self.step_label}) {self.call}#{self.ordinal}"

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "step_label": self.step_label,
            "service": self.service,
            "operation": self.operation,
            "table": self.table,
            "ordinal": self.ordinal,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Site:
        return cls(
            int(data["step"]),
            str(data["step_label"]),
            str(data["service"]),
            str(data["operation"]),
            str(data["table"]),
            int(data["ordinal"]),
        )


def is_polled(service: str, operation: str) -> bool:
    """Service Catalog reads: the calls the handler repeats back to back while it waits."""
    return service == "servicecatalog" and operation.startswith(_READ_PREFIXES)


def call_name(service: str, operation: str, table: str = "") -> str:
    """``dynamodb.UpdateItem[owners]``, ``servicecatalog.DescribeRecord``."""
    return f"{service}.{operation}" + (f"[{table}]" if table else "")


def table_role(logical_id: str) -> str:
    """``requests``/``owners`` from the table's logical id (``...ProviderRequests7AAE32D1``)."""
    words = re.findall(r"[A-Z][a-z]+", re.sub(r"[0-9A-F]{8}$", "", logical_id))
    return words[-1].lower() if words else logical_id.lower()


class StepRecorder:
    """The progress hook that numbers a run's requests; ``on_step`` runs before each is sent."""

    def __init__(
        self,
        cloud: LocalCloud,
        *,
        settle_before: Callable[[int], bool] = lambda _index: True,
        on_step: Callable[[Step], None] | None = None,
    ) -> None:
        self._cloud = cloud
        self._settle_before = settle_before
        self._on_step = on_step
        self._lock = threading.Lock()
        self.steps: list[Step] = []

    def __call__(self, event: ProgressEvent) -> None:
        match = _REQUEST.match(event.message) if event.kind == "request" else None
        if match is None:
            return
        with self._lock:
            index = len(self.steps)
        if self._settle_before(index):
            # A request still being worked on does not hold the step back, as it would not CloudFormation.
            with contextlib.suppress(TimeoutError):
                self._cloud.function.wait_for_async(timeout=SETTLE_AT_STEP_SECONDS)
        calls = self._cloud.gate.calls(include_admin=True)
        step = Step(index, match["phase"], match["request_type"], match["logical_id"], calls[-1].index if calls else 0)
        with self._lock:
            self.steps.append(step)
        if self._on_step is not None:
            self._on_step(step)

    def step_of(self, call: CallRecord) -> Step | None:
        """The step during which ``call`` was made (the last one begun before it)."""
        found: Step | None = None
        for step in self.steps:
            if call.index > step.first_call:
                found = step
        return found


def sites_of(
    calls: Sequence[CallRecord], recorder: StepRecorder, tables: Mapping[str, str], *, first_step: int = 0
) -> list[Site]:
    """The sites of the function's ``calls`` in the steps from ``first_step`` on; ``tables`` maps
    the table ARNs to their roles."""
    found: list[Site] = []
    counts: dict[tuple[int, str], int] = {}
    previous: tuple[int, str] | None = None
    for call in calls:
        step = recorder.step_of(call)
        if step is None:
            continue
        table = next((tables[r] for r in call.resources if r in tables), "")
        name = call_name(call.service, call.operation, table)
        counted = (step.index, name)
        repeated_read = previous == counted and is_polled(call.service, call.operation)
        previous = counted
        if repeated_read:
            continue
        counts[counted] = counts.get(counted, 0) + 1
        if step.index >= first_step:
            found.append(Site(step.index, step.label, call.service, call.operation, table, counts[counted]))
    return found
