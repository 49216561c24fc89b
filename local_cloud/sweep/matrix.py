"""The sweep's matrix: for each fault kind and call, how many runs each invariant held in.

Rows are fault kind x service.operation (clean runs have a row of their own), columns the four
invariants, the clean end (settled, then the stack deleted with nothing left) and whether the
outcome was what it is without the fault; a cell is held/total, marked ``!`` when some runs
violated it and ``~`` when it was not kept where that is allowed (the outcome after a failure that
outlasts every retry). Runs whose fault never landed (the site was not reached) are counted apart:
they tested nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from local_cloud.sweep.faults import KIND_LABELS, SWEEP_KINDS
from local_cloud.sweep.invariants import CHECKS
from local_cloud.sweep.runner import CLEAN_END, OUTCOME_KEPT, RunResult

__all__ = ["COLUMNS", "Matrix"]

COLUMNS = (*CHECKS, CLEAN_END, OUTCOME_KEPT)
_CLEAN_ROW = ("clean", "(every call)")


@dataclass
class _Row:
    held: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))
    violated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))
    total: int = 0

    def cell(self, column: str) -> str:
        mark = " !" if self.violated[column] else (" ~" if self.held[column] < self.total else "")
        return f"{self.held[column]}/{self.total}{mark}"


@dataclass
class Matrix:
    """Results added one by one; `render` gives the table, `violations` the runs to look at."""

    rows: dict[tuple[str, str], _Row] = field(default_factory=dict)
    results: list[RunResult] = field(default_factory=list)
    not_reached: list[RunResult] = field(default_factory=list)

    def add(self, result: RunResult) -> None:
        if result.position is not None and result.applied == 0:
            self.not_reached.append(result)
            return
        self.results.append(result)
        key = _CLEAN_ROW
        if result.position is not None:
            site = result.position.site
            key = (result.position.kind, f"{site.service}.{site.operation}")
        row = self.rows.setdefault(key, _Row())
        row.total += 1
        for check in result.checks:
            row.held[check.name] += int(check.held)
            row.violated[check.name] += int(check.violated)

    def extend(self, results: Iterable[RunResult]) -> Matrix:
        for result in results:
            self.add(result)
        return self

    @property
    def violations(self) -> list[RunResult]:
        return [r for r in self.results if not r.held]

    def render(self, *, wall_seconds: float | None = None) -> str:
        header = ("fault", "call", *COLUMNS)
        kinds = ["clean", *SWEEP_KINDS]
        lines: list[tuple[str, ...]] = [header]
        for key in sorted(self.rows, key=lambda k: (kinds.index(k[0]), k[1])):
            row = self.rows[key]
            label = "clean" if key == _CLEAN_ROW else KIND_LABELS[key[0]]  # type: ignore[index]
            cells = [row.cell(c) for c in COLUMNS]
            lines.append((label, key[1], *cells))
        totals = [sum(r.held[c] for r in self.rows.values()) for c in COLUMNS]
        runs = sum(r.total for r in self.rows.values())
        lines.append(("all", "", *[f"{held}/{runs}" for held in totals]))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        rendered = [
            "| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) + " |" for line in lines
        ]
        rendered.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
        seconds = sum(r.seconds for r in self.results)
        footer = f"{runs} runs ({len(self.violations)} with a violation), {seconds / 60:.1f} min of runs"
        if wall_seconds is not None:
            footer += f", {wall_seconds / 60:.1f} min wall"
        if self.not_reached:
            footer += f"; {len(self.not_reached)} more runs never reached their site (not counted)"
        return "\n".join([*rendered, "", footer])
