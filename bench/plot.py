"""`make bench` draws the polling comparison: lateness and DescribeRecord calls against the
provisioning duration, one line per schedule (docs/polling.png, shown in the README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.latency import BASELINES, DURATIONS, LEARNED, WRONG_HISTORY, LatencyResult

STYLES: dict[str, dict[str, Any]] = {
    "defaults": {"color": "tab:blue", "marker": "o"},
    "fixed-5s": {"color": "tab:orange", "marker": "s"},
    "one-minute": {"color": "tab:gray", "marker": "^"},
    "learned": {"color": "tab:green", "marker": "D", "linewidth": 2.5},
    "no-history": {"color": "tab:olive", "marker": "x", "linestyle": "--"},
    "history-3x": {"color": "tab:red", "marker": "v", "linestyle": "--"},
    "history-third": {"color": "tab:purple", "marker": "<", "linestyle": "--"},
}


def draw(result: LatencyResult, path: Path, *, note: str = "") -> None:
    """Two panels sharing the duration axis (log scales: 3 s to 40 min, 1 to 500 calls)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    durations = [d for d, _label in DURATIONS]
    figure, (late_axis, calls_axis) = plt.subplots(1, 2, figsize=(12, 4.8))
    for policy in (*BASELINES, LEARNED, *WRONG_HISTORY):
        cells = [result.cell(policy, d) for d in durations]
        style = STYLES.get(policy.key, {})
        late_axis.plot(durations, [max(c.median_latency_s, 0.05) for c in cells], label=policy.label, **style)
        calls_axis.plot(durations, [c.calls for c in cells], label=policy.label, **style)
    late_axis.axhline(2.0, color="black", linewidth=0.8, linestyle=":", label="goal: 2 s")
    for axis, title in (
        (late_axis, "median lateness (record finished -> answer PUT), s"),
        (calls_axis, "DescribeRecord calls (mean)"),
    ):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks(durations, [label for _d, label in DURATIONS])
        axis.set_xlabel("provisioning duration")
        axis.set_title(title, fontsize=10)
        axis.grid(True, which="major", alpha=0.3)
    calls_axis.legend(fontsize=8, loc="upper left")
    scales = f"time-scaled x{result.scale:g}, long cells x{result.long_scale:g}"
    figure.suptitle(note or f"Polling schedules on the local cloud ({scales})", fontsize=11)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
