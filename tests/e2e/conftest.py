"""End-to-end suites: CloudFormation's sequences against the synthesized provider asset, running
under awslambdaric, talking to the Service Catalog emulator over the wire."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local_cloud.cloud import LocalCloud
from support.assembly import cdk_out

__all__ = ["cdk_out", "cloud"]


@pytest.fixture
def cloud(cdk_out: Path) -> Iterator[LocalCloud]:
    """The local cloud with IAM on: every suite using it also proves the synthesized role grants
    every call the handler made (a denial the handler tolerated would otherwise go unseen)."""
    with LocalCloud(cdk_out, retry_delays=(0.5, 1.0)) as local_cloud:
        yield local_cloud
        denied = [(c.service, c.operation, c.resources) for c in local_cloud.calls() if c.denied]
    assert denied == [], f"the synthesized role does not grant: {denied}"
