"""``python -m local_cloud.sweep record|run``: record the clean traces, or replay one run of the sweep.

- ``record [--out PATH] [--repeat N] [SEQUENCE...]`` plays each sequence clean N times (default 2)
  and writes the traces the sweep's positions are built on (default tests/sweep/traces.json);
- ``run SEQUENCE [--position JSON]`` plays one run (clean, or with the position's fault, as a
  violation's report prints it) and prints what it showed;
- ``matrix REPORT`` prints the matrix and the violations of a sweep's report (``sweep-report.json``,
  or the ``.jsonl`` it grows while the sweep runs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from local_cloud.sweep.matrix import Matrix
from local_cloud.sweep.runner import Position, RunOptions, RunResult, run
from local_cloud.sweep.traces import record, save

DEFAULT_TRACES = Path("tests/sweep/traces.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_cloud.sweep")
    parser.add_argument("--cdk-out", type=Path, default=Path("cdk.out"))
    commands = parser.add_subparsers(dest="command", required=True)
    recording = commands.add_parser("record", help="record the clean traces")
    recording.add_argument("sequences", nargs="*")
    recording.add_argument("--out", type=Path, default=DEFAULT_TRACES)
    recording.add_argument("--repeat", type=int, default=2)
    replaying = commands.add_parser("run", help="play one run and print its report")
    replaying.add_argument("--position", help="a position as JSON (from a violation's report)")
    replaying.add_argument("sequence", nargs="?")
    reading = commands.add_parser("matrix", help="print a sweep report's matrix and violations")
    reading.add_argument("report", type=Path)
    args = parser.parse_args(argv)
    if args.command == "matrix":
        matrix = Matrix().extend(_results(args.report))
        print(matrix.render())
        for result in matrix.violations:
            print()
            print(result.report())
        return 0
    options = RunOptions(args.cdk_out)
    if args.command == "record":
        traces = record(options, args.sequences or None, repeat=args.repeat)
        save(args.out, traces)
        for key, trace in traces.items():
            print(f"{key}: {len(trace.sites)} sites ({len(trace.unstable)} unstable), {trace.seconds:.1f} s")
        print(f"wrote {args.out}")
        return 0
    position = Position.from_json(json.loads(args.position)) if args.position else None
    key = position.sequence if position is not None else args.sequence
    if not key:
        parser.error("run needs a SEQUENCE or a --position")
    result = run(options, key, position)
    print(result.report())
    return 0 if result.held else 1


def _results(path: Path) -> list[RunResult]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [RunResult.from_json(json.loads(line)) for line in text.splitlines() if line.strip()]
    return [RunResult.from_json(each) for each in json.loads(text)["results"]]


if __name__ == "__main__":
    sys.exit(main())
