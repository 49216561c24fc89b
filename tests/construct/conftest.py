"""Shared fixtures: one cloud assembly directory per session, so pip bundles the asset only once.

Every App in this suite writes to the same outdir. The provider's asset hash is computed from its
sources, so after the first synth CDK finds `asset.<hash>` staged there and skips bundling.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cdk_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk.out")


@dataclass(frozen=True)
class Example:
    """What the example app's synth produced, read right away (later Apps share the outdir)."""

    template_path: Path
    validation_report: dict[str, Any]
    metadata: dict[str, Any]


@pytest.fixture(scope="session")
def example(cdk_outdir: Path) -> Example:
    """The example app (cdk.json context, cdk-nag AwsSolutions registered), synthesized once."""
    import app

    assembly = app.build_app(outdir=str(cdk_outdir)).synth()
    artifact = assembly.get_stack_by_name(app.STACK_NAME)
    return Example(
        template_path=cdk_outdir / artifact.template_file,
        validation_report=json.loads((cdk_outdir / "validation-report.json").read_text()),
        metadata=json.loads((cdk_outdir / f"{app.STACK_NAME}.metadata.json").read_text()),
    )


@pytest.fixture
def make_stack(cdk_outdir: Path, example: Example) -> Iterator[Callable[[], cdk.Stack]]:
    """A fresh App + Stack writing to the session outdir (after the example app staged the asset)."""

    def factory() -> cdk.Stack:
        app = cdk.App(outdir=str(cdk_outdir))
        return cdk.Stack(app, "TestStack")

    yield factory
