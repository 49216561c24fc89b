"""The modules a plan-mode Create, a spec-mode Create and a Delete load, pinned.

Each request runs in a fresh interpreter (scenarios.py) and the function's modules it loaded are
compared with the committed list in cold_start_modules.json: a change to what a request loads is a
reviewed diff, not a surprise in `make bench`'s cold start. After a deliberate change, rewrite the
list with `UPDATE_COLD_START_MODULES=1 pytest tests/architecture` and review the diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PINNED = HERE / "cold_start_modules.json"
SCENARIOS = ("plan_create", "spec_create", "delete")
UPDATE = os.environ.get("UPDATE_COLD_START_MODULES") == "1"


def loaded_by(scenario: str) -> tuple[list[str], list[str]]:
    """(the answers' statuses, the function's modules loaded) of one request in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, str(HERE / "scenarios.py"), scenario],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=HERE.parents[1],
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-2000:] + done.stdout[-2000:]
    result = json.loads(lines[-1].removeprefix("RESULT "))
    return result["answers"], result["modules"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_request_loads_exactly_the_pinned_modules(scenario: str) -> None:
    answers, modules = loaded_by(scenario)
    assert answers == ["SUCCESS"], f"the {scenario} scenario itself failed: {answers}"
    pinned = json.loads(PINNED.read_text())
    if UPDATE:
        pinned[scenario] = modules
        PINNED.write_text(json.dumps(pinned, indent=2, sort_keys=True) + "\n")
    added = sorted(set(modules) - set(pinned[scenario]))
    dropped = sorted(set(pinned[scenario]) - set(modules))
    assert not added and not dropped, (
        f"{scenario} now loads {added} and no longer {dropped}: if intended (a lazy import for a rare path "
        "must stay lazy), rewrite the list with UPDATE_COLD_START_MODULES=1 and review the diff"
    )


def test_the_rarer_paths_stay_off_a_plan_mode_create() -> None:
    """What only failures, refusals, duplicates, hand-overs, rollbacks and spec mode need."""
    plan_create = set(json.loads(PINNED.read_text())["plan_create"])
    rare = {
        "sc_plan_provider.records.in_process",
        "sc_plan_provider.records.leftovers",
        "sc_plan_provider.runtime.handover",
        "sc_plan_provider.servicecatalog.planning",
        "sc_plan_provider.steps.leftovers",
        "sc_plan_provider.steps.recovery",
        "sc_plan_provider.steps.refusal",
        "sc_plan_provider.steps.restore",
        "sc_plan_provider.steps.terminate",
        "sc_plan_provider.properties.spec",
        "sc_plan_provider.properties.spec_checks",
    }
    assert not plan_create & rare


def route_table() -> dict[tuple[str, str], set[str]]:
    """The route table in routes/__init__.py's docstring: (request, mode) -> the modules its last
    column names (continued rows joined)."""
    import sc_plan_provider.routes

    rows: dict[tuple[str, str], str] = {}
    key: tuple[str, str] | None = None
    for line in (sc_plan_provider.routes.__doc__ or "").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 5 or (cells[0] and set(cells[0]) <= set("-")) or cells[0] == "Request":
            continue
        if cells[0]:
            key = (cells[0], cells[1])
            rows[key] = ""
        assert key is not None
        rows[key] += " " + cells[4]
    return {
        key: {f"sc_plan_provider.{word.strip(',;')}" for word in text.split() if "." in word}
        for key, text in rows.items()
    }


@pytest.mark.parametrize(
    ("row", "scenario"),
    [(("Create", "plan"), "plan_create"), (("Create", "spec"), "spec_create"), (("Delete", "any"), "delete")],
)
def test_the_route_table_names_what_each_pinned_scenario_loads(row: tuple[str, str], scenario: str) -> None:
    """A row names exactly what its scenario loads beyond what every request loads (and its route)."""
    pinned = json.loads(PINNED.read_text())
    shared = set.intersection(*(set(modules) for modules in pinned.values()))
    own = {m for m in set(pinned[scenario]) - shared if not m.startswith("sc_plan_provider.routes.")}
    assert route_table()[row] == own
