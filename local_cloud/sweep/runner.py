"""One run of the sweep: a sequence on a fresh local cloud, with at most one fault, then the invariants.

Every run starts its own `LocalCloud` (half a second), so nothing of one run (warm environments,
their clients' retry quotas, records, claims) leaks into the next, and a run's invariants read
state that only it made. The fault is planned when its step begins (after the previous request's
last writes landed), so ``at`` counts the step's own calls as the clean trace did; what follows runs
as CloudFormation would, without waiting.

After the sequence, the run waits for the function's asynchronous work to finish (Lambda's
retries, continuations), checks the four invariants, and then (``teardown``) deletes the stack
without faults and checks that this ends cleanly: nothing stuck, nothing left.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_cloud.cloud import LocalCloud
from local_cloud.cloudformation import Outcome
from local_cloud.gate import FaultRule
from local_cloud.servicecatalog import Plan
from local_cloud.sweep.deliveries import Deliveries
from local_cloud.sweep.faults import EVENT_SERVICE, SweepFault, SweepKind, faults_for
from local_cloud.sweep.invariants import (
    Check,
    check_answers,
    check_orphans,
    check_owners,
    check_versions,
    failed_deletes,
)
from local_cloud.sweep.sequences import Sequence, World, sequence
from local_cloud.sweep.trace import Site, Step, StepRecorder, sites_of, table_role

__all__ = ["CLEAN_END", "OUTCOME_KEPT", "RIDDEN_OUT", "Position", "RunOptions", "RunResult", "rides_out", "run"]

CLEAN_END = "clean end"
OUTCOME_KEPT = "outcome kept"
# Faults the provider rides out: after a kill or a slow answer the call took effect and the provider
# resumes or retries it (Lambda's retry of the invocation, botocore's of the call); a transient
# not-found of a Service Catalog read is the eventual consistency the handler waits out; a request
# delivered again out of order, or a forged event beside it, changes nothing. The stack must then
# end as without the fault (a late delivery makes CloudFormation give up: its outcome differs).
# After the others (a failure outlasting every retry) a FAILED answer is honest; the column shows
# how often the outcome changed.
RIDDEN_OUT: frozenset[str] = frozenset({"kill", "slow", "reordered", "forged-create", "forged-update", "forged-delete"})


def rides_out(position: Position) -> bool:
    """Whether the provider promises the same outcome despite ``position``'s fault."""
    site = position.site
    return position.kind in RIDDEN_OUT or (position.kind == "not_found" and site.counts_runs)


_LOG_LEVELS = ('"level":"WARNING"', '"level":"ERROR"', '"level":"CRITICAL"')
_LOG_LINE_CHARS = 600
_LOG_BOILERPLATE = frozenset(
    {
        "level",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "xray_trace_id",
        "sampling_rate",
    }
)


@dataclass(frozen=True)
class Position:
    """Where one faulted run puts its fault: a sequence, a site in it, a fault kind."""

    sequence: str
    site: Site
    kind: SweepKind

    @property
    def key(self) -> str:
        return f"{self.sequence} | {self.site.key} | {self.kind}"

    @property
    def fault(self) -> SweepFault:
        return next(f for f in faults_for(self.site) if f.kind == self.kind)

    def to_json(self) -> dict[str, Any]:
        return {"sequence": self.sequence, "site": self.site.to_json(), "kind": self.kind}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Position:
        return cls(str(data["sequence"]), Site.from_json(data["site"]), data["kind"])


@dataclass(frozen=True)
class RunOptions:
    """How runs are played. ``retry_delay_scale`` shortens the sleeps between the function's botocore
    retries (``LocalCloud(retry_delay_scale=...)``: the same attempts, faster)."""

    cdk_out: Path
    retry_delay_scale: float = 0.05
    settle_seconds: float = 90.0
    teardown: bool = True
    lambda_retry_delays: tuple[float, ...] = (0.5, 1.0)


@dataclass(frozen=True)
class RunResult:
    """What one run showed: the invariants' verdicts, whether the fault landed, and what to reproduce it."""

    sequence: str
    position: Position | None
    checks: tuple[Check, ...]
    applied: int  # calls that got the fault (0: the site was not reached in this run)
    stack_status: str
    seconds: float
    steps: tuple[str, ...] = ()
    sites: tuple[Site, ...] = ()  # the subject's sites (a clean run: the trace the sweep is built on)
    summary: str = ""
    log_lines: tuple[str, ...] = field(default=(), repr=False)

    @property
    def held(self) -> bool:
        return not self.violations

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    @property
    def violations(self) -> list[Check]:
        return [c for c in self.checks if c.violated]

    def report(self) -> str:
        """Enough to reproduce and understand a run: where the fault went, what failed, the logs."""
        where = self.position.key if self.position is not None else f"{self.sequence} (no fault)"
        lines = [f"run: {where}", f"fault applied to {self.applied} call(s); stack ends {self.stack_status}"]
        if self.position is not None:
            lines.append(
                f"reproduce: python -m local_cloud.sweep run --position '{json.dumps(self.position.to_json())}'"
            )
        for check in self.checks:
            verdict = "held" if check.held else ("VIOLATED" if check.binding else "not kept (allowed for this fault)")
            lines.append(f"  {check.name}: {verdict}")
            lines.extend(f"    - {problem}" for problem in check.problems)
            lines.extend(f"    . {note}" for note in check.notes)
        lines.append("requests:")
        lines.extend(f"  {line}" for line in self.summary.splitlines())
        if self.log_lines:
            lines.append("function warnings and errors:")
            lines.extend(f"  {line}" for line in self.log_lines)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "position": self.position.to_json() if self.position is not None else None,
            "checks": [c.to_json() for c in self.checks],
            "applied": self.applied,
            "stack_status": self.stack_status,
            "seconds": self.seconds,
            "steps": list(self.steps),
            "sites": [s.to_json() for s in self.sites],
            "summary": self.summary,
            "log_lines": list(self.log_lines),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResult:
        return cls(
            sequence=str(data["sequence"]),
            position=Position.from_json(data["position"]) if data.get("position") else None,
            checks=tuple(Check.from_json(c) for c in data["checks"]),
            applied=int(data["applied"]),
            stack_status=str(data["stack_status"]),
            seconds=float(data["seconds"]),
            steps=tuple(data.get("steps", ())),
            sites=tuple(Site.from_json(s) for s in data.get("sites", ())),
            summary=str(data.get("summary", "")),
            log_lines=tuple(data.get("log_lines", ())),
        )


def run(
    options: RunOptions, sequence_key: str, position: Position | None = None, *, expected_status: str | None = None
) -> RunResult:
    """Play the sequence once on a fresh local cloud, with ``position``'s fault if given;
    ``expected_status`` is the stack status its clean run ends in (the recorded trace's)."""
    chosen = sequence(sequence_key)
    if position is not None and position.site.step < chosen.subject_from:
        raise ValueError(f"step {position.site.step} of {chosen.key} is set-up, not swept")
    started = time.monotonic()
    with LocalCloud(
        options.cdk_out,
        retry_delays=options.lambda_retry_delays,
        function_timeout=chosen.function_timeout,
        retry_delay_scale=options.retry_delay_scale,
    ) as cloud:
        return _Run(cloud, chosen, position, options).play(started, expected_status)


class _Run:
    def __init__(self, cloud: LocalCloud, chosen: Sequence, position: Position | None, options: RunOptions) -> None:
        self.cloud = cloud
        self.sequence = chosen
        self.position = position
        self.options = options
        self.rule: FaultRule | None = None
        self.deliveries: Deliveries | None = None
        self.world = World(cloud, chosen.mode, cloud.stack(f"sweep-{chosen.name}"), duration=chosen.duration)
        self.recorder = StepRecorder(cloud, settle_before=self._settles_before, on_step=self._plan_fault)
        cloud.cloudformation.progress = self.recorder

    def _settles_before(self, index: int) -> bool:
        return self.position is None or index == self.position.site.step

    def _table_arns(self) -> dict[str, str]:
        spec = self.cloud.spec
        return {
            f"arn:aws:dynamodb:{spec.region}:{spec.account_id}:table/{name}": table_role(logical_id)
            for logical_id, name in self.cloud.tables.items()
        }

    def _plan_fault(self, step: Step) -> None:
        if self.position is None or step.index != self.position.site.step or self.rule is not None:
            return
        site, fault = self.position.site, self.position.fault
        if site.service == EVENT_SERVICE:
            kind = self.position.kind
            assert kind in ("late", "reordered", "forged-create", "forged-update", "forged-delete")
            self.deliveries = Deliveries(self.cloud, self.world.stack, self.recorder, kind, step.index)
            self.cloud.cloudformation.interceptor = self.deliveries
            return
        assert fault.fault is not None
        resource = next((arn for arn, role in self._table_arns().items() if role == site.table), None)
        self.rule = self.cloud.faults.add(
            fault.fault,
            service=site.service,
            operation=site.operation,
            resource=resource if site.table else None,
            at=site.ordinal,
            times=fault.times,
            counting="runs" if site.counts_runs else "calls",
        )

    def play(self, started: float, expected_status: str | None) -> RunResult:
        problems: list[str] = []
        try:
            self.sequence.play(self.world)
        except Exception as error:  # a harness or driver failure: reported as a run that did not end
            problems.append(f"the sequence stopped: {type(error).__name__}: {error}")
        if self.deliveries is not None:
            self.deliveries.after_sequence()
        settled = self._settle(problems)
        applied = self.rule.applied if self.rule is not None else 0
        if self.deliveries is not None:
            applied = self.deliveries.applied
            self.cloud.cloudformation.interceptor = None
        site = self.position.site if self.position is not None else None
        lost_reply = (
            site.step
            if site is not None
            and site.service == "s3"
            and self.position is not None
            and self.position.kind in ("kill", "slow")
            else None
        )
        late = site.step if site is not None and self.position is not None and self.position.kind == "late" else None
        checks = [
            check_answers(
                self.world.stack,
                lost_put_reply_step=lost_reply,
                late_step=late,
                forged=self.deliveries.forged if self.deliveries is not None else (),
                forged_phase=site.step_label.split(" ")[0] if site is not None else "",
            ),
            check_orphans(self.world),
            check_versions(self.world),
            check_owners(self.world),
        ]
        status = self.world.stack.status
        steps = tuple(step.label for step in self.recorder.steps)
        summary = self.world.stack.summary()
        sites = tuple(
            sites_of(self.cloud.calls(), self.recorder, self._table_arns(), first_step=self.sequence.subject_from)
        )
        if self.options.teardown and settled:
            problems.extend(self._teardown())
        denied = sorted({f"{c.service}:{c.operation}" for c in self.cloud.calls() if c.denied})
        if denied:
            problems.append(f"the synthesized role denied the function: {', '.join(denied)}")
        checks.append(Check(CLEAN_END, not problems, tuple(problems)))
        checks.append(self._outcome(status, expected_status))
        return RunResult(
            sequence=self.sequence.key,
            position=self.position,
            checks=tuple(checks),
            applied=applied,
            stack_status=status,
            seconds=time.monotonic() - started,
            steps=steps,
            sites=sites if self.position is None else (),
            summary=summary,
            log_lines=self._log_lines(),
        )

    def _outcome(self, status: str, expected: str | None) -> Check:
        binding = self.position is None or rides_out(self.position)
        if expected is None:
            return Check(OUTCOME_KEPT, True, notes=("no clean outcome to compare with",), binding=binding)
        problems = [] if status == expected else [f"the stack ends {status}, without the fault {expected}"]
        return Check(OUTCOME_KEPT, not problems, tuple(problems), binding=binding)

    def _settle(self, problems: list[str]) -> bool:
        try:
            self.cloud.function.wait_for_async(timeout=self.options.settle_seconds)
        except TimeoutError as error:
            problems.append(f"the function's asynchronous work did not settle: {error}")
            return False
        return True

    def _teardown(self) -> list[str]:
        """Delete the stack without faults, as a user would next: every resource CloudFormation holds
        gets its Delete (again, for one whose Delete failed in a failed rollback); it must end
        answered, DELETE_COMPLETE, with no product of the run left but the user's own placeholders."""
        self.cloud.faults.clear()
        stack = self.world.stack
        outcomes: list[Outcome] = []
        failed = False
        if stack.resources:
            mark = len(stack.history)
            failed = stack.delete().status != "DELETE_COMPLETE"
            outcomes += [row.outcome for row in stack.history[mark:] if row.outcome is not None]
        listed = {r.physical_resource_id for r in stack.resources.values()}
        for row in [row for row in failed_deletes(stack) if row.physical_resource_id not in listed]:
            assert row.outcome is not None
            outcome = stack.driver.send(
                request_type="Delete",
                stack_id=stack.stack_id,
                resource_type=str(row.outcome.event["ResourceType"]),
                logical_resource_id=row.logical_id,
                properties=row.outcome.event["ResourceProperties"],
                physical_resource_id=row.physical_resource_id,
                service_timeout=row.outcome.service_timeout,
                phase="delete",
            )
            outcomes.append(outcome)
            failed = failed or not outcome.succeeded
        problems: list[str] = []
        if not self._settle(problems):
            return problems
        for outcome in outcomes:
            accepted = [put for put in outcome.puts if put.accepted]
            if outcome.timed_out or len(accepted) != 1 or len([p for p in outcome.puts if p.method == "PUT"]) > 1:
                problems.append(
                    f"the teardown's Delete of {outcome.physical_resource_id} was not answered exactly once"
                )
        if failed:
            problems.append(
                "the stack could not be deleted afterwards: " + "; ".join(o.reason for o in outcomes if not o.succeeded)
            )
        kept = check_orphans(self.world).notes
        left = [
            f"{product.id} ({product.name}, {product.status})"
            for product in self.cloud.servicecatalog.provisioned_products()
            if not any(note.startswith(product.id) for note in kept)
        ]
        if left:
            problems.append(f"left after deleting the stack: {', '.join(left)}")
        plans = [f"{plan.id} ({plan.provisioned_product_name}, {plan.status})" for plan in self._provider_plans()]
        if plans:
            problems.append(f"plans the provider made, left after deleting the stack: {', '.join(plans)}")
        return problems

    def _provider_plans(self) -> list[Plan]:
        """Plans that exist and that the user did not make (spec mode plans its own)."""
        return [plan for plan in self.cloud.servicecatalog.plans() if plan.id not in self.world.user_plans]

    def _log_lines(self) -> tuple[str, ...]:
        lines = []
        for record in self.cloud.function.logs:
            text = record.text
            if any(level in text for level in _LOG_LEVELS):
                lines.append(f"[{record.env_id}] {_compact(text)}")
            elif record.stream == "platform" and not text.startswith(("START ", "END ", "REPORT ")):
                lines.append(f"[{record.env_id}] {text[:_LOG_LINE_CHARS]}")
        return tuple(lines)


def _compact(line: str) -> str:
    """A Powertools JSON log line without its per-invocation boilerplate: level, message, what it adds."""
    try:
        entry = json.loads(line)
    except ValueError:
        return line[:_LOG_LINE_CHARS]
    if not isinstance(entry, dict):
        return line[:_LOG_LINE_CHARS]
    extra = {key: value for key, value in entry.items() if key not in _LOG_BOILERPLATE}
    if isinstance(extra.get("exception"), str):  # the traceback's last line says what happened
        extra["exception"] = extra["exception"].strip().splitlines()[-1]
    text = f"{entry.get('level', '?')} {entry.get('message', '')}"
    if extra:
        text += " " + json.dumps(extra, default=str)
    return text[: _LOG_LINE_CHARS * 2]
