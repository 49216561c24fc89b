"""End-to-end suites: CloudFormation's sequences against the synthesized provider asset, running
under awslambdaric, talking to the Service Catalog emulator over the wire."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_cloud.cloud import LocalCloud

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


@pytest.fixture
def cloud(cdk_out: Path) -> Iterator[LocalCloud]:
    """The local cloud with IAM on: every suite using it also proves the synthesized role grants
    every call the handler made (a denial the handler tolerated would otherwise go unseen)."""
    with LocalCloud(cdk_out, retry_delays=(0.5, 1.0)) as local_cloud:
        yield local_cloud
        denied = [(c.service, c.operation, c.resources) for c in local_cloud.calls() if c.denied]
    assert denied == [], f"the synthesized role does not grant: {denied}"
