"""The synthesized cloud assembly the local-cloud suites run (e2e, sweep)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from aws_cdk import App

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


def staged_app(cdk_out: Path, outdir: Path) -> App:
    """A new App writing to `outdir`, with the example app's context and the provider's asset staged
    from `cdk_out` (the same sources: CDK finds `asset.<hash>` there and does not bundle again)."""
    import app as example_app  # with aws_cdk: only the suites that synthesize pay for jsii

    for staged in cdk_out.glob("asset.*"):
        if staged.is_dir():
            shutil.copytree(staged, outdir / staged.name)
    return example_app.App(outdir=str(outdir), context=example_app.cdk_json_context())
