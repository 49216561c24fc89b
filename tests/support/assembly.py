"""The synthesized cloud assembly the local-cloud suites run (e2e, sweep)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make test` synthesizes cdk.out first; a bare `pytest` synthesizes into a temp dir."""
    existing = REPO / "cdk.out"
    if (existing / "manifest.json").exists():
        return existing
    outdir = tmp_path_factory.mktemp("cdk.out")
    subprocess.run([sys.executable, "app.py"], cwd=REPO, check=True, env={**os.environ, "CDK_OUTDIR": str(outdir)})
    return outdir
