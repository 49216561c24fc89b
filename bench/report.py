"""Plain-text tables, goal lines and the JSON results file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cold_start import VARIANTS, ColdStartResult
from bench.common import median, verdict
from bench.concurrency import ConcurrencyResult
from bench.latency import (
    BASELINES,
    CELL_RUNS,
    DEFAULTS,
    DURATIONS,
    FIXED_5S,
    LEARNED,
    MAX_LONG_SCALING_ERROR_S,
    MAX_SCALING_ERROR_S,
    ONE_MINUTE,
    SANITY_DURATION_S,
    WRONG_HISTORY,
    LatencyResult,
    Policy,
)


@dataclass(frozen=True)
class Goal:
    """One goal from the README with the value measured against it."""

    name: str
    target: str
    measured: str
    ok: bool

    def line(self) -> str:
        return f"{verdict(self.ok)}  {self.name}: {self.measured} (goal {self.target})"

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "target": self.target, "measured": self.measured, "result": verdict(self.ok)}


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned text, right-aligned numbers; what a terminal and a README code block both show well."""
    cells = [[str(h) for h in headers]] + [[_cell(value) for value in row] for row in rows]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]

    def render(line: list[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(line, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    lines = [render(cells[0]), "  ".join("-" * w for w in widths)]
    lines.extend(render(line) for line in cells[1:])
    return "\n".join(lines)


def section(title: str) -> str:
    return f"\n== {title} " + "=" * max(0, 90 - len(title))


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------- sections


def latency_report(result: LatencyResult) -> str:
    """The comparison table, the baseline/defaults ratios, the 1-60 s spread and the scaling check."""
    rows: list[list[object]] = []
    for cell in result.cells():
        rows.append(
            [
                cell.policy.label,
                provision_label(cell.nominal),
                cell.latency_s,
                min(r.latency_s for r in cell.runs),
                max(r.latency_s for r in cell.runs),
                cell.model_s,
                cell.calls,
                cell.model_calls,
            ]
        )
    spread_model = [r.model_s for r in result.group("spread")]
    headers = ("policy", "provision", "latency s", "min s", "max s", "model s", "DescribeRecord", "model calls")
    parts = [
        comparison(result),
        "",
        table(headers, rows),
        f"Each cell: mean of {CELL_RUNS} provisionings spread evenly over one polling interval of that policy around",
        "the duration (at most +-10 %), so no policy gains by luck of phase (exact 60 s / 10 min sit on the 5 s and",
        "60 s grids). latency = (deciding DescribeRecord - record SUCCEEDED) / scale + (answer PUT received - deciding",
        "DescribeRecord), the answer's work being the same at any scale; model = the same durations if every poll",
        "took no time and the answer none (measured - model = what the calls and the answer cost).",
        "",
        table(
            ("baseline / defaults", "provision", "latency x", "model latency x", "calls x"),
            [
                [policy.label, provision_label(nominal), *ratios(result, policy, nominal)]
                for policy in (FIXED_5S, ONE_MINUTE, LEARNED, *WRONG_HISTORY)
                for nominal, _label in DURATIONS
            ],
        ),
        "",
        "Defaults over provisions spread evenly from 1 to 60 s (each its own stack, same run):",
        table(
            ("provision s", "latency s", "model s", "DescribeRecord"),
            [[r.run.duration, r.latency_s, r.model_s, r.describe_record_calls] for r in result.group("spread")],
        ),
        f"median {median(result.spread_latencies):.2f} s, max {max(result.spread_latencies):.2f} s late "
        f"(model, polls taking no time: median {median(spread_model):.2f} s, max {max(spread_model):.2f} s)",
        "",
        scaling_note(result),
    ]
    return "\n".join(parts)


def comparison(result: LatencyResult) -> str:
    """The schedules side by side (median lateness s / mean DescribeRecord calls), the learned one's
    ratios, and the learned schedule with missing or wrong history next to the defaults."""
    cell = result.cell

    def pair(policy: Policy, nominal: float) -> str:
        return f"{cell(policy, nominal).median_latency_s:.1f} / {cell(policy, nominal).calls:.0f}"

    side_by_side = table(
        ("provision", *(p.label for p in (*BASELINES, LEARNED))),
        [[label, *(pair(p, d) for p in (*BASELINES, LEARNED))] for d, label in DURATIONS],
    )
    learned_ratios = table(
        ("learned / baseline", *(label for _d, label in DURATIONS)),
        [
            [
                f"{base.key}: latency x, calls x",
                *(
                    f"{_ratio(cell(LEARNED, d).median_latency_s, cell(base, d).median_latency_s, 2)}, "
                    f"{_ratio(cell(LEARNED, d).calls, cell(base, d).calls, 2)}"
                    for d, _label in DURATIONS
                ),
            ]
            for base in BASELINES
        ],
    )
    wrong = table(
        ("provision", DEFAULTS.label, *(p.label for p in WRONG_HISTORY)),
        [[label, pair(DEFAULTS, d), *(pair(p, d) for p in WRONG_HISTORY)] for d, label in DURATIONS],
    )
    return "\n".join(
        [
            "Detection latency s (median) / DescribeRecord calls (mean), per provisioning duration:",
            side_by_side,
            "",
            learned_ratios,
            "",
            "Learned polling without history, or with history that is wrong (same durations as the defaults):",
            wrong,
        ]
    )


def provision_label(nominal: float) -> str:
    return dict(DURATIONS).get(nominal, f"{nominal:g} s")


def ratios(result: LatencyResult, policy: Policy, nominal: float) -> list[object]:
    """Latency (measured, model) and call ratios of a baseline over the defaults for one duration."""
    ours, theirs = result.cell(DEFAULTS, nominal), result.cell(policy, nominal)
    return [
        _ratio(theirs.latency_s, ours.latency_s),
        _ratio(theirs.model_s, ours.model_s),
        _ratio(theirs.calls, ours.calls, digits=2),
    ]


def _ratio(numerator: float, denominator: float, digits: int = 1) -> str:
    return f"{numerator / denominator:.{digits}f}" if denominator > 0.01 else "n/a"


def scaling_note(result: LatencyResult) -> str:
    unscaled = result.sanity(1.0)
    overhead_ms = max(unscaled - DEFAULTS.model(SANITY_DURATION_S)[0], 0.0) * 1000
    lines = [
        f"Scaling check ({result.concurrent_creates} creates at once on {result.warm_environments} pre-warmed "
        f"environments, {result.environments_started} started in all; {result.wall_s:.0f} s). The same 3 s "
        f"provisioning with the defaults is answered {unscaled:.2f} s late unscaled, and scaled back:",
    ]
    for scale in result.scales:
        error = result.scaling_error_s(scale)
        if result.long_scale == result.scale:
            used_for = "every run"
        else:
            used_for = "the 10- and 40-minute cells" if scale == result.long_scale else "everything else"
        limit = MAX_SCALING_ERROR_S if scale == result.scale else MAX_LONG_SCALING_ERROR_S
        judged = f"within {limit:g} s" if abs(error) <= limit else f"ABOVE {limit:g} s: use a larger scale"
        lines.append(f"  x{scale:g} ({used_for}): {result.sanity(scale):.2f} s late, error {error:+.2f} s, {judged}")
    answers = sorted(r.answer_s for r in result.runs)
    lines.append(
        f"Unscaled, the answer (deciding poll -> PUT received) takes ~{overhead_ms:.0f} ms beyond the model; "
        f"over every run it took median {median(answers) * 1000:.0f} ms, max {answers[-1] * 1000:.0f} ms "
        "(counted unscaled). The error left is the deciding poll's own delay (waking, its round trip), "
        "divided by the scale."
    )
    return "\n".join(lines)


def cold_start_report(result: ColdStartResult) -> str:
    runs = len(result.wall_ms["handler"])
    parts = [
        table(
            (
                "init (fresh process, Lambda env)",
                "wall ms",
                "x boto3",
                "cpu ms",
                "x boto3",
                "min-max wall",
                "process",
                "source ms",
                "x boto3",
            ),
            [
                [
                    variant.label,
                    result.median_ms(variant.key),
                    f"{result.ratio_to_boto3(variant.key):.2f}",
                    result.median_ms(variant.key, cpu=True),
                    f"{result.ratio_to_boto3(variant.key, cpu=True):.2f}",
                    f"{min(result.wall_ms[variant.key]):.0f}-{max(result.wall_ms[variant.key]):.0f}",
                    median(result.process_ms[variant.key]),
                    result.source_ms(variant.key),
                    f"{result.source_ratio_to_boto3(variant.key):.2f}",
                ]
                for variant in VARIANTS
            ],
        ),
        *instruction_lines(result),
        f"ratio first request / floor: {result.median_ms('handler') / result.median_ms('floor'):.2f}x wall, "
        f"{result.ratio_to_floor('handler', cpu=True):.2f}x CPU "
        f"(medians of {runs} runs each, variants shuffled every round; process = the whole interpreter, "
        "start-up included). "
        "The indented rows add, one by one, what the handler must load before any code of ours. "
        f"{shipped_note(result)} source = the same from source, as an asset without bytecode "
        f"({len(result.source_wall_ms['handler'])} runs each).",
        "",
        "Top imports by cumulative time (python -X importtime, median of 3 runs; depth = nesting):",
        table(
            ("module", "depth", "cumulative ms", "self ms"),
            [[c.module, c.depth, c.cumulative_ms, c.self_ms] for c in result.top_imports],
        ),
        "",
        "Self time by top-level package:",
        table(("package", "self ms"), [[name, ms] for name, ms in result.self_ms_by_package]),
        "",
        f"Asset: {result.zipped_bytes / 1e6:.1f} MB zipped (deflate), {result.unzipped_bytes / 1e6:.1f} MB unzipped, "
        f"{result.files} files",
    ]
    return "\n".join(parts)


def shipped_note(result: ColdStartResult) -> str:
    """How the asset was loaded in the main series."""
    if not result.shipped_bytecode:
        return "The asset ships source only (no pyodide at synth): every series compiles it."
    return (
        f"As shipped: {result.shipped_bytecode} modules with python3.14 bytecode, which this interpreter "
        "cannot read; its own checked-hash bytecode for the same modules (and its standard library) stands "
        "in, in a cache folder outside the asset."
    )


def instruction_lines(result: ColdStartResult) -> list[str]:
    """The ladder in instructions executed (callgrind), when valgrind is installed."""
    if result.instructions is None:
        return ["(valgrind not installed: no instruction counts; the goal uses median wall time)"]
    counts = result.instructions
    source = result.source_instructions or counts
    lines = [
        "",
        table(
            ("init as shipped, one run under callgrind", "instructions M", "x floor (start-up subtracted)"),
            [
                ["empty interpreter (start-up)", counts["empty"] / 1e6, ""],
                *[
                    [variant.label, counts[variant.key] / 1e6, f"{result.instructions_over_floor(variant.key):.3f}"]
                    for variant in VARIANTS
                ],
            ],
        ),
        f"ratio first request / floor: {result.ratio:.3f}x in instructions as shipped (the goal's figure: "
        f"repeatable); the first request adds {(counts['handler'] - counts['floor']) / 1e6:.1f} M to the floor.",
    ]
    if result.source_instructions is not None and result.source_ratio is not None:
        lines.append(
            f"From source (an asset without bytecode): floor {source['floor'] / 1e6:.1f} M, first request "
            f"{source['handler'] / 1e6:.1f} M ({result.source_ratio:.3f}x, adding "
            f"{(source['handler'] - source['floor']) / 1e6:.1f} M)."
        )
    compiled = source["compile_only"] - source["floor"]
    lines.append(f"Compiling every module of our package from source, alone: {compiled / 1e6:.1f} M.")
    return [*lines, ""]


def concurrency_report(result: ConcurrencyResult) -> str:
    rows: list[list[object]] = [
        ["custom resources created at once", result.resources],
        ["stacks CREATE_COMPLETE", result.succeeded],
        ["requests sent / answers received (PUTs)", f"{result.requests} / {result.answers}"],
        ["execution environments started", result.environments_started],
        ["wall time s", result.wall_s],
        ["answer time s (median / max)", f"{median(result.answer_seconds):.2f} / {max(result.answer_seconds):.2f}"],
        ["Service Catalog calls / throttled", f"{result.sc_calls} / {result.sc_throttled}"],
    ]
    rows += [[f"  {operation}", count] for operation, count in result.calls_by_operation.items()]
    text = table(("50 concurrent creates, every 2nd Service Catalog call throttled", "value"), rows)
    if result.failures:
        text += "\nfailures:\n" + "\n".join(f"  {f}" for f in result.failures[:10])
    return text


def summary(
    latency: LatencyResult, cold: ColdStartResult, burst: ConcurrencyResult, goals: Sequence[Goal], when: str
) -> str:
    """The block for the README: the numbers that matter, one line each."""
    lines = [
        f"Benchmark ({when}, `make bench`): CloudFormation driver -> synthesized asset under awslambdaric ->",
        f"Service Catalog emulator; time scaled x{latency.scale:g} (10- and 40-minute cells x{latency.long_scale:g}), "
        "scaling error "
        + ", ".join(f"{latency.scaling_error_s(scale):+.2f} s at x{scale:g}" for scale in latency.scales),
        "",
        comparison(latency),
        f"Provisions of 1-60 s, defaults ({len(latency.spread_latencies)} runs): median "
        f"{median(latency.spread_latencies):.1f} s, max {max(latency.spread_latencies):.1f} s late",
        f"Cold start as shipped: first request up to its first SC call {cold.median_ms('handler'):.0f} ms vs the floor "
        "(crhelper, Logger, Metrics, Tracer, SC, DynamoDB and CloudFormation clients) "
        f"{cold.median_ms('floor'):.0f} ms "
        f"({cold.median_ms('handler') / cold.median_ms('floor'):.2f}x; CPU "
        f"{cold.ratio_to_floor('handler', cpu=True):.2f}x; {cold.ratio:.3f}x in {cold.ratio_basis}); floor / bare "
        f"boto3 {cold.ratio_to_boto3('floor'):.2f}x; the data class would add "
        f"{cold.ratio_to_floor('data_class') - 1:+.2f}x; asset {cold.zipped_bytes / 1e6:.1f} MB zipped, "
        f"{cold.unzipped_bytes / 1e6:.1f} MB "
        f"unzipped ({'with' if cold.shipped_bytecode else 'without'} python3.14 bytecode)",
        f"{burst.resources} resources at once, every 2nd call throttled: {burst.succeeded}/{burst.resources} created, "
        f"{burst.answers} answers for {burst.requests} requests, {burst.environments_started} environments, "
        f"{burst.wall_s:.0f} s, {burst.sc_calls} Service Catalog calls ({burst.sc_throttled} throttled)",
        "",
        *(goal.line() for goal in goals),
    ]
    return "\n".join(lines)
