"""The fault sweep's parametrization: the clean sequences and the positions (a seeded sample by
default, every position with ``--sweep=whole``) come from the recorded traces (traces.json, written by
``make sweep-traces``), so every xdist worker collects the same tests."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from local_cloud.sweep.positions import DEFAULT_SEED, SAMPLE_BUDGET_SECONDS, Planned, positions, sample
from local_cloud.sweep.runner import RunOptions
from local_cloud.sweep.traces import Trace, load
from support.assembly import cdk_out
from support.known_violations import always_fails, known

__all__ = ["cdk_out", "sweep_options"]

TRACES = Path(os.environ.get("SWEEP_TRACES", Path(__file__).parent / "traces.json"))


def _traces() -> dict[str, Trace]:
    return load(TRACES)


def _id(planned: Planned) -> str:
    position = planned.position
    site = position.site
    table = f".{site.table}" if site.table else ""
    raw = f"{position.sequence}-s{site.step}-{site.service}.{site.operation}{table}-{site.ordinal}-{position.kind}"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", raw)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sweep_sequence" in metafunc.fixturenames:
        metafunc.parametrize("sweep_sequence", sorted(_traces()), ids=lambda key: key.replace("/", "-"))
    if "planned" in metafunc.fixturenames:
        traces = _traces()
        everything = positions(traces)
        if metafunc.config.getoption("--sweep") == "whole":
            chosen = everything
        else:
            seed = metafunc.config.getoption("--sweep-seed")
            chosen = sample(
                everything, traces, seed=DEFAULT_SEED if seed is None else seed, budget_seconds=SAMPLE_BUDGET_SECONDS
            )
        params = []
        for planned in chosen:
            reason = known(planned.position.key)
            marks = [pytest.mark.xfail(reason=reason, strict=always_fails(planned.position.key))] if reason else []
            params.append(pytest.param(planned, id=_id(planned), marks=marks))
        metafunc.parametrize("planned", params)


@pytest.fixture(scope="session")
def sweep_options(cdk_out: Path) -> RunOptions:
    return RunOptions(cdk_out)


@pytest.fixture(scope="session")
def traces() -> dict[str, Trace]:
    return _traces()
