"""Run checkov (from the Makefile's .venv-checkov) on templates, as `make scan` does, and read its verdict."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


@dataclass(frozen=True)
class Finding:
    check_id: str
    resource: str  # "AWS::Type.LogicalId"
    file: str
    comment: str = ""


@dataclass(frozen=True)
class CheckovReport:
    passed: int
    failed: list[Finding]
    skipped: list[Finding]

    def skipped_ids(self, logical_id_prefix: str = "") -> set[str]:
        return {f.check_id for f in self.skipped if f.resource.split(".", 1)[1].startswith(logical_id_prefix)}


def run_checkov(templates: Iterable[Path]) -> CheckovReport:
    """checkov's CloudFormation checks on `templates`; skips the test if `make scan` never installed it."""
    files = [str(path) for path in templates]
    assert files, "no templates to scan"
    if not CHECKOV.exists():
        pytest.skip("checkov is installed by `make scan` (.venv-checkov); run `make test`")
    completed = subprocess.run(
        [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "-o", "json", "-f", *files],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    parsed: Any = json.loads(completed.stdout)
    reports = parsed if isinstance(parsed, list) else [parsed]
    failed: list[Finding] = []
    skipped: list[Finding] = []
    passed = 0
    for report in reports:
        results = report.get("results", {})
        passed += len(results.get("passed_checks", []))
        failed += [_finding(c) for c in results.get("failed_checks", [])]
        skipped += [_finding(c) for c in results.get("skipped_checks", [])]
    return CheckovReport(passed=passed, failed=failed, skipped=skipped)


def _finding(check: dict[str, Any]) -> Finding:
    suppress = check.get("check_result", {}).get("suppress_comment", "")
    return Finding(check["check_id"], check["resource"], check.get("file_path", ""), suppress or "")
