"""Cold start of the provider handler against bare boto3, in fresh processes with Lambda's environment.

Each sample is a new interpreter on the synthesized asset (PYTHONPATH = the asset folder, the
template's POWERTOOLS_* variables, dummy credentials, no bytecode written, as on Lambda's read-only
task root), so module compilation and Powertools/X-Ray set-up count as they do on a real cold start.
The two variants alternate so drift in machine load hits both equally.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import CDK_OUT, PROVIDER_HANDLER, MeasurementError, median
from local_cloud.lambda_runtime import FunctionSpec
from local_cloud.lambda_runtime.sandbox_env import build_environment

RUNS_PER_VARIANT = 15
IMPORTTIME_RUNS = 3
TOP_IMPORTS = 10
GOAL_RATIO = 1.2
CHILD_TIMEOUT_S = 60.0

HANDLER_INIT = (
    "import sc_plan_provider.handler\nfrom sc_plan_provider.service_catalog import default_client\ndefault_client()\n"
)
BOTO3_INIT = "import boto3\nboto3.client('servicecatalog')\n"
VARIANTS = {"handler": HANDLER_INIT, "boto3": BOTO3_INIT}
TIMED = "import time\n_t0 = time.perf_counter()\n{body}print(time.perf_counter() - _t0)\n"


@dataclass(frozen=True)
class ImportCost:
    """One module from `python -X importtime`: median cumulative and self time over the runs."""

    module: str
    depth: int
    cumulative_ms: float
    self_ms: float


@dataclass(frozen=True)
class ColdStartResult:
    samples_ms: dict[str, list[float]]
    process_ms: dict[str, list[float]]
    top_imports: list[ImportCost]
    self_ms_by_package: list[tuple[str, float]]
    zipped_bytes: int
    unzipped_bytes: int
    files: int

    def median_ms(self, variant: str) -> float:
        return median(self.samples_ms[variant])

    @property
    def ratio(self) -> float:
        return self.median_ms("handler") / self.median_ms("boto3")

    def as_json(self) -> dict[str, Any]:
        return {
            "runs_per_variant": len(self.samples_ms["handler"]),
            "handler_init_ms_median": round(self.median_ms("handler"), 1),
            "boto3_init_ms_median": round(self.median_ms("boto3"), 1),
            "ratio": round(self.ratio, 3),
            "process_ms_median": {k: round(median(v), 1) for k, v in self.process_ms.items()},
            "samples_ms": {k: [round(x, 1) for x in v] for k, v in self.samples_ms.items()},
            "top_imports_cumulative": [
                {"module": i.module, "depth": i.depth, "cumulative_ms": round(i.cumulative_ms, 1)}
                for i in self.top_imports
            ],
            "self_ms_by_package": {name: round(ms, 1) for name, ms in self.self_ms_by_package},
            "asset": {"zipped_bytes": self.zipped_bytes, "unzipped_bytes": self.unzipped_bytes, "files": self.files},
        }


def lambda_env(spec: FunctionSpec) -> dict[str, str]:
    """The variables the local runtime (and Lambda) give the function; no Runtime API is contacted."""
    return build_environment(spec, runtime_api="127.0.0.1:9")


def run_child(code: str, env: dict[str, str], cwd: Path, *, extra_args: tuple[str, ...] = ()) -> tuple[str, str, float]:
    """Run one fresh interpreter; returns stdout, stderr and the wall time of the whole process (ms)."""
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and code, no shell
        [sys.executable, *extra_args, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    wall_ms = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise MeasurementError(f"cold-start child exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout, done.stderr, wall_ms


def measure_init(env: dict[str, str], cwd: Path, runs: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Alternate handler and boto3 samples; returns in-process init times and whole-process times (ms)."""
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    process: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(runs):
        for name, body in VARIANTS.items():
            stdout, _stderr, wall_ms = run_child(TIMED.format(body=body), env, cwd)
            try:
                samples[name].append(float(stdout.strip().splitlines()[-1]) * 1000)
            except (IndexError, ValueError) as error:
                raise MeasurementError(f"cold-start child printed no timing: {stdout!r}") from error
            process[name].append(wall_ms)
    return samples, process


def parse_importtime(stderr: str) -> list[tuple[str, int, float, float]]:
    """`import time: self | cumulative | name` lines -> (module, depth, cumulative ms, self ms)."""
    rows: list[tuple[str, int, float, float]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3:
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append((name.strip(), depth, int(parts[1]) / 1000, int(parts[0]) / 1000))
    return rows


def measure_imports(env: dict[str, str], cwd: Path) -> tuple[list[ImportCost], list[tuple[str, float]]]:
    """Which imports dominate the handler's init: top cumulative modules and self time per package."""
    runs: list[dict[str, tuple[int, float, float]]] = []
    for _ in range(IMPORTTIME_RUNS):
        _stdout, stderr, _wall = run_child(HANDLER_INIT, env, cwd, extra_args=("-X", "importtime"))
        parsed = parse_importtime(stderr)
        if not parsed:
            raise MeasurementError("python -X importtime printed nothing")
        runs.append({name: (depth, cum, own) for name, depth, cum, own in parsed})
    modules = set.intersection(*(set(run) for run in runs))
    costs = [
        ImportCost(
            module=name,
            depth=runs[0][name][0],
            cumulative_ms=median([run[name][1] for run in runs]),
            self_ms=median([run[name][2] for run in runs]),
        )
        for name in modules
    ]
    top = sorted(costs, key=lambda c: c.cumulative_ms, reverse=True)[:TOP_IMPORTS]
    by_package: dict[str, float] = {}
    for cost in costs:
        package = cost.module.split(".")[0]
        by_package[package] = by_package.get(package, 0.0) + cost.self_ms
    packages = sorted(by_package.items(), key=lambda item: item[1], reverse=True)[:TOP_IMPORTS]
    return top, packages


def asset_sizes(asset_dir: Path) -> tuple[int, int, int]:
    """(zipped bytes, unzipped bytes, files): the asset zipped in memory with deflate, as uploaded."""
    buffer = io.BytesIO()
    unzipped = files = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(asset_dir.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(asset_dir).as_posix())
                unzipped += path.stat().st_size
                files += 1
    return len(buffer.getvalue()), unzipped, files


def run(runs: int = RUNS_PER_VARIANT) -> ColdStartResult:
    spec = FunctionSpec.from_cloud_assembly(CDK_OUT, handler=PROVIDER_HANDLER)
    env = lambda_env(spec)
    samples, process = measure_init(env, spec.asset_dir, runs)
    top, packages = measure_imports(env, spec.asset_dir)
    zipped, unzipped, files = asset_sizes(spec.asset_dir)
    return ColdStartResult(samples, process, top, packages, zipped, unzipped, files)
