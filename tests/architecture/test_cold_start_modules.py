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
