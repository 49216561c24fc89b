"""The fault sweep's pytest options and report: each sweep test attaches its run's result to its
report (``user_properties``, which pytest-xdist carries to the controller); the session's terminal
summary prints the matrix, every violation with how to reproduce it, and writes them as JSON with
``--sweep-report PATH`` (and, as they come, one result a line to PATH + ``.jsonl``: a long sweep
can be watched, and an interrupted one keeps what it ran)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from local_cloud.sweep.matrix import Matrix
from local_cloud.sweep.runner import RunResult

RESULT_PROPERTY = "sweep-result"
_results: list[RunResult] = []
_started = [time.monotonic()]
_config: list[pytest.Config] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sweep", "fault sweep (tests/sweep)")
    group.addoption(
        "--sweep",
        choices=("sample", "whole"),
        default=os.environ.get("SWEEP", "sample"),
        help="the bounded, seeded sample (default; what make test runs) or every position (make sweep)",
    )
    group.addoption("--sweep-seed", type=int, default=None, help="the sample's seed (default: the harness's)")
    group.addoption("--sweep-report", type=Path, default=None, help="write the sweep's results and matrix here")


def record(node: pytest.Item, result: RunResult) -> None:
    """Attach a run's result to the test's report (only violations keep their logs)."""
    data = result.to_json()
    if result.held:
        data["log_lines"] = []
    node.user_properties.append((RESULT_PROPERTY, json.dumps(data)))


def pytest_sessionstart(session: pytest.Session) -> None:
    _started[0] = time.monotonic()
    path = _stream(session.config)
    if path is not None and not hasattr(session.config, "workerinput"):
        path.write_text("", encoding="utf-8")


def _stream(config: pytest.Config) -> Path | None:
    path = config.getoption("--sweep-report")
    return Path(f"{path}.jsonl") if path is not None else None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" or not _config or hasattr(_config[0], "workerinput"):
        return  # under xdist the controller collects, from the reports its workers send
    for name, value in report.user_properties:
        if name == RESULT_PROPERTY:
            _results.append(RunResult.from_json(json.loads(str(value))))
            if (path := _stream(_config[0])) is not None:
                with path.open("a", encoding="utf-8") as stream:
                    stream.write(str(value) + "\n")


def pytest_configure(config: pytest.Config) -> None:
    _config[:] = [config]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if not _results:
        return
    wall = time.monotonic() - _started[0]
    matrix = Matrix().extend(_results)
    write = terminalreporter.write_line
    terminalreporter.section(f"fault sweep ({config.getoption('--sweep')})")
    for line in matrix.render(wall_seconds=wall).splitlines():
        write(line)
    for result in matrix.violations:
        write("")
        for line in result.report().splitlines():
            write(line)
    for result in matrix.not_reached:
        write(f"not reached: {result.position.key if result.position else result.sequence}")
    path = config.getoption("--sweep-report")
    if path is not None:
        path.write_text(
            json.dumps(
                {"matrix": matrix.render(wall_seconds=wall), "results": [r.to_json() for r in _results]}, indent=1
            ),
            encoding="utf-8",
        )
        write(f"sweep report written to {path}")
