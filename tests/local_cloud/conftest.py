"""Fixtures shared by the emulator's suites: a clock the test moves by hand, the emulator on it,
and a boto3 client that does not retry (so every error the emulator gives is seen as it is).

``sc`` plays the lenient profile: the suites using it test the state machine, not the real
service's stricter rules (test_servicecatalog_rules.py plays those, asking for them explicitly).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local_cloud.servicecatalog import ServiceCatalogEmulator, ServiceRules
from support.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sc(clock: ManualClock) -> Iterator[ServiceCatalogEmulator]:
    with ServiceCatalogEmulator(clock=clock, rules=ServiceRules.lenient()) as emulator:
        yield emulator


@pytest.fixture
def client(sc: ServiceCatalogEmulator) -> Any:
    return sc.client(retries={"mode": "standard", "total_max_attempts": 1})
