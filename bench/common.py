"""Shared paths, the error that means "could not measure", and small statistics helpers."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CDK_OUT = REPO / "cdk.out"
RESULTS_FILE = REPO / ".bench" / "results.json"
PROVIDER_HANDLER = "sc_plan_provider.handler.lambda_handler"
# Lambda gives each environment its own CPU and 10 s to initialise. Here dozens of environments
# start at once on two cores, so their imports queue for the CPU; a longer INIT limit keeps the
# scenarios about polling, throttling and answers instead of about this machine's core count.
SHARED_CPU_INIT_TIMEOUT_S = 120.0


class MeasurementError(RuntimeError):
    """A measurement could not be made (a run failed, a subprocess crashed): the bench exits 1."""


def median(values: Sequence[float]) -> float:
    """Median that names the problem instead of raising StatisticsError on an empty sample."""
    if not values:
        raise MeasurementError("no samples to take a median of")
    return statistics.median(values)


def verdict(ok: bool) -> str:
    """PASS/MISS: a missed goal is a result, not a failure of the bench."""
    return "PASS" if ok else "MISS"
