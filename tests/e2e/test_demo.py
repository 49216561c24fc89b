"""`make demo` (demo.py) on the synthesized assembly: what it prints is what it ran. Each deployment's
properties carry the plan id it sends (not the synthesized placeholder), and the spec deployment
counts only the plans it deleted itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import app
import demo


def _one(pattern: str, text: str) -> re.Match[str]:
    matches = list(re.finditer(pattern, text, re.MULTILINE))
    assert len(matches) == 1, (pattern, text)
    return matches[0]


def test_demo_prints_the_plan_ids_it_runs_and_the_spec_plans_it_deleted(
    cdk_out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(cdk_out, time_scale=0.25) == 0  # the product's waits shortened
    out = capsys.readouterr().out

    first = _one(r"Seeded product \S+ and plan (\S+) \(", out).group(1)
    second = _one(r"seeded the second plan (\S+) for the same product", out).group(1)
    sent = {
        step: ast.literal_eval(_one(rf"\] {step} \S+ with properties (\{{.*\}})$", out).group(1))
        for step in ("Create", "Update")
    }
    assert sent["Create"]["PlanId"] == first
    assert sent["Update"]["PlanId"] == second
    assert app.DEFAULT_PLAN_ID not in out  # the synthesized placeholder is never shown as sent

    counted = _one(r"plans deleted: (\d+) \(([^)]*)\)$", out)
    deleted = counted.group(2).split(", ")
    # The spec deployment plans once per Create and once per Update, and deletes each plan it executed;
    # the plan-mode deployment's plans (the first, deleted by the demo itself) are not counted.
    assert int(counted.group(1)) == len(deleted) == len(set(deleted)) == 2
    assert not {first, second} & set(deleted)
