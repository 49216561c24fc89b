"""`python -m bench [--scale S]`: run every measurement, print the tables and the README summary.

Exit status 1 means a measurement could not be made; a missed goal only prints MISS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from bench import cold_start, concurrency, latency, plot
from bench.common import CDK_OUT, REPO, RESULTS_FILE, MeasurementError, median
from bench.report import (
    Goal,
    cold_start_report,
    concurrency_report,
    latency_report,
    section,
    summary,
    write_json,
)

T = TypeVar("T")
PLOT_FILE = REPO / "docs" / "polling.png"
# Measured latencies carry noise the model does not (round trips, a loaded machine): a wrong-history
# cell counts as "no later than the defaults" within this much.
LATENESS_NOISE_S = 0.5


def attempt(title: str, measure: Callable[[], T]) -> T | None:
    """Run one section; a failure is reported and leaves the others to run."""
    print(section(title), flush=True)
    started = time.monotonic()
    try:
        result = measure()
    except Exception as error:  # any failure means "could not measure"; the other sections still run
        traceback.print_exc()
        print(f"COULD NOT MEASURE: {title}: {error}", flush=True)
        return None
    print(f"({time.monotonic() - started:.0f} s)", flush=True)
    return result


def learned_goals(lat: latency.LatencyResult) -> list[Goal]:
    """Issue 11: the learned schedule against the baselines; wrong history against the defaults."""
    cell = lat.cell
    durations = [d for d, _label in latency.DURATIONS]
    labels = dict(latency.DURATIONS)
    worst = max(durations, key=lambda d: cell(latency.LEARNED, d).median_latency_s)
    checked = [
        Goal(
            "learned, median lateness at every duration (worst)",
            "<= 2 s",
            f"{cell(latency.LEARNED, worst).median_latency_s:.2f} s at {labels[worst]}",
            all(cell(latency.LEARNED, d).median_latency_s <= 2.0 for d in durations),
        )
    ]
    for d in durations:
        ours = cell(latency.LEARNED, d).calls
        if d >= latency.LONG_PROVISION_S:
            bound, name = cell(latency.FIXED_5S, d).calls / 2, "half the fixed 5 s interval's"
        else:
            bound, name = cell(latency.DEFAULTS, d).calls, "the defaults'"
        checked.append(
            Goal(
                f"learned, DescribeRecord calls at {labels[d]}", f"<= {name} {bound:.1f}", f"{ours:.1f}", ours <= bound
            )
        )
    for policy in latency.WRONG_HISTORY:
        late = [
            cell(policy, d).latency_s - max(cell(latency.DEFAULTS, d).latency_s, cell(latency.DEFAULTS, d).model_s)
            for d in durations
        ]
        calls = [cell(policy, d).calls / cell(latency.DEFAULTS, d).calls for d in durations]
        ten_minutes = cell(policy, latency.LONG_PROVISION_S).calls
        checked.append(
            Goal(
                f"{policy.label}: lateness vs the defaults (worst excess)",
                f"<= +{LATENESS_NOISE_S:g} s",
                f"{max(late):+.2f} s",
                max(late) <= LATENESS_NOISE_S,
            )
        )
        checked.append(
            Goal(
                f"{policy.label}: calls vs the defaults (worst ratio; 10 min)",
                "<= 1.10x; <= 60",
                f"{max(calls):.2f}x; {ten_minutes:.0f}",
                max(calls) <= 1.10 and ten_minutes <= 60,
            )
        )
    return checked


def goals(
    lat: latency.LatencyResult, cold: cold_start.ColdStartResult, burst: concurrency.ConcurrencyResult
) -> list[Goal]:
    spread = lat.spread_latencies
    ten_minutes = max(r.describe_record_calls for r in lat.cell(latency.DEFAULTS, 600.0).runs)
    return [
        Goal("provisions up to a minute, median lateness", "<= 2 s", f"{median(spread):.2f} s", median(spread) <= 2.0),
        Goal("provisions up to a minute, max lateness", "<= 10 s", f"{max(spread):.2f} s", max(spread) <= 10.0),
        Goal(
            "10-minute provision, DescribeRecord calls (most of 4 runs)", "<= 60", str(ten_minutes), ten_minutes <= 60
        ),
        *learned_goals(lat),
        Goal(
            f"cold start, first request before its first SC call / floor ({cold.ratio_basis})",
            f"<= {cold_start.GOAL_RATIO}x",
            f"{cold.ratio:.3f}x",
            cold.ratio <= cold_start.GOAL_RATIO,
        ),
        Goal(
            "50 concurrent creates under throttling succeed",
            f"{burst.resources}/{burst.resources}",
            f"{burst.succeeded}/{burst.resources}",
            burst.succeeded == burst.resources,
        ),
        Goal(
            "one answer per request",
            f"{burst.requests} PUTs",
            f"{burst.answers} PUTs",
            burst.answers == burst.requests,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--scale", type=float, default=latency.DEFAULT_SCALE, help="time scale of the latency runs (0.1-1)"
    )
    parser.add_argument(
        "--long-scale",
        type=float,
        default=latency.DEFAULT_LONG_SCALE,
        help="time scale of the 10-minute cells (0.1-1)",
    )
    args = parser.parse_args(argv)
    if not (0.1 <= args.scale <= 1.0 and 0.1 <= args.long_scale <= 1.0):
        parser.error("scales must be between 0.1 (the 0.1 s interval minimum) and 1")
    if not (CDK_OUT / "manifest.json").exists():
        print("cdk.out/ is missing: run `make synth` (or `make bench`) first", file=sys.stderr)
        return 1
    started = time.monotonic()
    when = f"{dt.datetime.now(dt.UTC):%Y-%m-%d}, Python {platform.python_version()}, {platform.machine()}"

    print(section("Preflight: one Create on the local cloud"), flush=True)
    try:
        latency.preflight()
    except MeasurementError as error:
        print(f"COULD NOT MEASURE anything: {error}", file=sys.stderr)
        return 1
    print("ok", flush=True)

    cold = attempt("Cold start (fresh processes, Lambda environment)", cold_start.run)
    if cold is not None:
        print(cold_start_report(cold))
    lat = attempt(
        "Detection latency and DescribeRecord calls (full local cloud)",
        lambda: latency.run(args.scale, args.long_scale),
    )
    if lat is not None:
        print(latency_report(lat))
        plot.draw(lat, PLOT_FILE)
        print(f"Comparison drawn: {PLOT_FILE.relative_to(REPO)}")
    burst = attempt("50 custom resources at once, every second call throttled", concurrency.run)
    if burst is not None:
        print(concurrency_report(burst))

    results: dict[str, Any] = {"when": when, "wall_s": None}
    results["cold_start"] = cold.as_json() if cold is not None else None
    results["latency"] = (
        {
            "scale": lat.scale,
            "long_scale": lat.long_scale,
            "scaling_error_s": {str(scale): round(lat.scaling_error_s(scale), 3) for scale in lat.scales},
            "cells": [c.as_json() for c in lat.cells()],
            "spread": {
                "median_s": round(median(lat.spread_latencies), 3),
                "max_s": round(max(lat.spread_latencies), 3),
            },
            "runs": [r.as_json() for r in lat.runs],
        }
        if lat is not None
        else None
    )
    results["concurrency"] = burst.as_json() if burst is not None else None
    complete = cold is not None and lat is not None and burst is not None
    if cold is not None and lat is not None and burst is not None:
        checked = goals(lat, cold, burst)
        results["goals"] = [g.as_json() for g in checked]
        print(section("Summary (for the README)"))
        print(summary(lat, cold, burst, checked, when))
    results["wall_s"] = round(time.monotonic() - started, 1)
    write_json(RESULTS_FILE, results)
    print(f"\nResults written to {RESULTS_FILE.relative_to(CDK_OUT.parent)} ({results['wall_s']:.0f} s in all)")
    if not complete:
        print("Some measurements could not be made (see COULD NOT MEASURE above).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
