"""The clean traces the sweep is built on, recorded to a file so that every test run (and every
xdist worker) builds the same positions: `python -m local_cloud.sweep record` writes it.

A trace is a sequence's swept sites as a clean run made them. Recording plays each sequence
``repeat`` times and keeps the sites every repetition made (a site one run makes and another does
not is timing, not the handler's path); a test compares a fresh clean run with the file, so a
handler that changed its calls says so (and how) instead of being swept at stale positions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_cloud.sweep.runner import RunOptions, RunResult, run
from local_cloud.sweep.sequences import SEQUENCES
from local_cloud.sweep.trace import Site

__all__ = ["FORMAT", "Trace", "compare", "load", "record", "save"]

FORMAT = 1


@dataclass(frozen=True)
class Trace:
    """One sequence's clean run: its steps and its swept sites, and how long it took."""

    sequence: str
    steps: tuple[str, ...]
    sites: tuple[Site, ...]
    seconds: float
    unstable: tuple[Site, ...] = ()  # made by some repetitions only: timing, never swept
    status: str = ""  # the stack status the clean run ends in

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": list(self.steps),
            "status": self.status,
            "seconds": round(self.seconds, 1),
            "sites": [site.to_json() for site in self.sites],
            "unstable": [site.to_json() for site in self.unstable],
        }

    @classmethod
    def from_json(cls, sequence: str, data: Mapping[str, Any]) -> Trace:
        return cls(
            sequence,
            tuple(data["steps"]),
            tuple(Site.from_json(s) for s in data["sites"]),
            float(data["seconds"]),
            tuple(Site.from_json(s) for s in data.get("unstable", ())),
            str(data.get("status", "")),
        )


def record(options: RunOptions, keys: Iterable[str] | None = None, *, repeat: int = 2) -> dict[str, Trace]:
    """Play each sequence clean ``repeat`` times; its trace keeps the sites all repetitions made."""
    traces: dict[str, Trace] = {}
    for key in keys or [s.key for s in SEQUENCES]:
        results = [run(options, key) for _ in range(repeat)]
        broken = [r for r in results if not r.held]
        if broken:
            raise RuntimeError(f"a clean run of {key} violates the invariants:\n{broken[0].report()}")
        traces[key] = _common(key, results)
    return traces


def _common(key: str, results: list[RunResult]) -> Trace:
    first = results[0]
    if any(r.steps != first.steps for r in results):
        raise RuntimeError(f"clean runs of {key} sent different requests: {[r.steps for r in results]}")
    shared = [site for site in first.sites if all(site in r.sites for r in results[1:])]
    seen = list(dict.fromkeys(site for r in results for site in r.sites))
    unstable = [site for site in seen if site not in shared]
    if any(r.stack_status != first.stack_status for r in results):
        raise RuntimeError(f"clean runs of {key} ended differently: {[r.stack_status for r in results]}")
    return Trace(key, first.steps, tuple(shared), max(r.seconds for r in results), tuple(unstable), first.stack_status)


def save(path: Path, traces: Mapping[str, Trace]) -> None:
    data = {"format": FORMAT, "sequences": {key: trace.to_json() for key, trace in sorted(traces.items())}}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def load(path: Path) -> dict[str, Trace]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: trace format {data.get('format')!r}, expected {FORMAT}: record it again")
    return {key: Trace.from_json(key, value) for key, value in data["sequences"].items()}


def compare(recorded: Trace, fresh: RunResult) -> list[str]:
    """How a fresh clean run differs from the recorded trace (empty: the positions still stand)."""
    differences: list[str] = []
    if recorded.status and fresh.stack_status != recorded.status:
        differences.append(f"the stack now ends {fresh.stack_status}, recorded {recorded.status}")
    if tuple(fresh.steps) != recorded.steps:
        differences.append(f"steps now {list(fresh.steps)}, recorded {list(recorded.steps)}")
    missing = [site.key for site in recorded.sites if site not in fresh.sites]
    added = [site.key for site in fresh.sites if site not in recorded.sites and site not in recorded.unstable]
    if missing:
        differences.append("calls no longer made: " + "; ".join(missing))
    if added:
        differences.append("new calls: " + "; ".join(added))
    return differences
