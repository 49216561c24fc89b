"""Detection latency and DescribeRecord calls of three polling policies, on the full local cloud.

CloudFormation driver -> synthesized asset under awslambdaric -> Service Catalog emulator, with
time scaled uniformly: the emulator's `time_scale` and every polling property are multiplied by the
same factor, so the schedule of polls keeps its shape. Lateness is measured in two parts: from the
record's end to the deciding DescribeRecord (the poll that first saw SUCCEEDED), which follows the
scaled schedule and is divided by the scale, and from that poll to CloudFormation receiving the
answer (outputs, ownership, the HTTPS PUT), which is real work at any scale and is counted as
measured. Unscaled runs of the same provisioning check the conversion in the same run. The 10- and
40-minute cells run at a coarser scale so the run stays short.

How late a poll notices the end depends on where the end falls between two polls: exactly 60 s or
10 min lands on the grid of a fixed 5 s or 60 s interval and would flatter those policies by luck
of phase. Each (policy, provision) cell therefore runs four provisionings spread evenly over one
polling interval of that policy around the nominal duration (at most +-10 % of it) and reports
their mean. The schedule is deterministic, so every cell also shows the policy's own model (polls
that take no time) for the same durations: measured minus model is what the calls cost.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from bench.common import CDK_OUT, SHARED_CPU_INIT_TIMEOUT_S, MeasurementError, median
from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import CustomResource, Delivery, StackResult
from local_cloud.servicecatalog import ProvisioningScript, ServiceCatalogEmulator
from sc_plan_provider.waiting.policy import PollingPolicy, poll_moments

DEFAULT_SCALE = 0.2  # scaling error ~0.25 s on cells and goals up to a minute
DEFAULT_LONG_SCALE = 0.1  # the 10-minute cells: ~1 minute of wall time, error ~0.5 s on 3-30 s latencies
LONG_PROVISION_S = 600.0
CELL_RUNS = 4
WRONG_CELL_RUNS = 2  # the wrong-history rows: enough to show the fallback, fewer environments
# Earlier records "of similar duration": five within +-5 % of the history's nominal duration.
SIMILAR_SPREAD = (0.02, -0.05, 0.0, 0.05, -0.025)
CELL_MAX_SPREAD = 0.2  # the durations of a cell span at most +-10 % of its nominal duration
SPREAD_RUNS = 12
SANITY_REPLICAS = 3
START_STAGGER_S = 0.04
SANITY_DURATION_S = 3.0
MAX_SCALING_ERROR_S = 0.5  # above this the output says the scale is too coarse for the 2 s goal
MAX_LONG_SCALING_ERROR_S = 1.0  # the 10-minute cells: latencies of 3-30 s and no latency goal
ROLLBACK_WAIT_S = 120.0
PREFLIGHT_WAIT_S = 30.0
WARMUP_ROUNDS = 8
# Environments started at once: on two shared cores ~100 inits at once outlast the warm-up's wait.
WARMUP_BATCH = 30
WARMUP_STAGGER_S = 0.03
WARMUP_POLLING = {"PollingIntervalSeconds": 0.1, "PollingBackoffRate": 1.0, "PollingMaxIntervalSeconds": 0.1}

Group = Literal["compare", "spread", "sanity"]


@dataclass(frozen=True)
class Policy:
    """A schedule: first interval, backoff rate, maximum interval (seconds), and for the learned
    schedule the history its product is seeded with (`history` x the cell's duration; None: none)."""

    key: str
    label: str
    interval: float
    rate: float
    max_interval: float
    learned: bool = False
    history: float | None = None

    def properties(self, scale: float) -> dict[str, float | str]:
        """The custom resource properties for this policy, with time scaled."""
        properties: dict[str, float | str] = {
            "PollingIntervalSeconds": round(self.interval * scale, 6),
            "PollingBackoffRate": self.rate,
            "PollingMaxIntervalSeconds": round(self.max_interval * scale, 6),
        }
        if self.learned:
            properties["LearnedPolling"] = "true"  # the scaled defaults are the policy it builds on
        return properties

    def history_durations(self, nominal: float) -> list[float]:
        """The seeded past durations (unscaled seconds) for a cell of `nominal` seconds."""
        if self.history is None:
            return []
        return [nominal * self.history * (1 + f) for f in SIMILAR_SPREAD]

    def poll_times(self, nominal: float = 0.0) -> Iterator[float]:
        """Seconds after the execution at which the handler polls (the handler's own schedule)."""
        policy = PollingPolicy(self.interval, self.rate, self.max_interval)
        return poll_moments(self.history_durations(nominal) if self.learned else [], policy)

    def gap_around(self, duration: float) -> float:
        """The polling interval in force when a provisioning of `duration` ends."""
        previous = 0.0
        for moment in self.poll_times():
            if moment >= duration and moment > 0:
                return moment - previous
            previous = moment
        raise AssertionError("unreachable: poll_times is infinite")

    def cell_durations(self, nominal: float) -> list[float]:
        """Durations evenly over one polling interval around `nominal` (at most +-10 %); the learned
        rows run the defaults' durations, so every schedule meets the same provisionings."""
        basis = DEFAULTS if self.learned else self
        runs = WRONG_CELL_RUNS if self.learned and self.history != 1.0 else CELL_RUNS
        width = min(CELL_MAX_SPREAD * nominal, basis.gap_around(nominal))
        return [nominal + ((i + 0.5) / runs - 0.5) * width for i in range(runs)]

    def model(self, duration: float, nominal: float = 0.0) -> tuple[float, int]:
        """(lateness, polls) if every poll were instantaneous: the first poll at or after `duration`."""
        for polls, moment in enumerate(self.poll_times(nominal), start=1):  # strictly increasing
            if moment >= duration:
                return moment - duration, polls
        raise AssertionError("unreachable: poll_times is infinite")


DEFAULTS = Policy("defaults", "defaults (1 s, x1.1, max 30 s)", 1.0, 1.1, 30.0)
FIXED_5S = Policy("fixed-5s", "fixed 5 s (CDK Provider)", 5.0, 1.0, 5.0)
ONE_MINUTE = Policy("one-minute", "1 min (crhelper rule)", 60.0, 1.0, 60.0)
LEARNED = Policy("learned", "learned (history of similar runs)", 1.0, 1.1, 30.0, learned=True, history=1.0)
NO_HISTORY = Policy("no-history", "learned, no history", 1.0, 1.1, 30.0, learned=True)
RUN_3X = Policy("history-3x", "learned, run takes 3x the history", 1.0, 1.1, 30.0, learned=True, history=1 / 3)
RUN_THIRD = Policy("history-third", "learned, run takes 1/3 of the history", 1.0, 1.1, 30.0, learned=True, history=3.0)
BASELINES = (DEFAULTS, FIXED_5S, ONE_MINUTE)
WRONG_HISTORY = (NO_HISTORY, RUN_3X, RUN_THIRD)
POLICIES = (*BASELINES, LEARNED, *WRONG_HISTORY)
DURATIONS = ((3.0, "3 s"), (60.0, "60 s"), (600.0, "10 min"), (2400.0, "40 min"))


@dataclass(frozen=True)
class Run:
    """One Create on its own stack: a policy, a provisioning duration and the time scale it runs at."""

    name: str
    group: Group
    policy: Policy
    nominal: float  # the cell's duration (3 s, 60 s, 10 min), in unscaled seconds
    duration: float  # this run's duration, in unscaled seconds
    scale: float  # wall seconds per unscaled second for this run


@dataclass(frozen=True)
class RunResult:
    run: Run
    latency_s: float  # unscaled seconds from SUCCEEDED to the answer's PUT at CloudFormation
    describe_record_calls: int
    record_id: str
    answer_s: float  # wall seconds from the deciding DescribeRecord to the PUT (part of latency_s)

    @property
    def model_s(self) -> float:
        return self.run.policy.model(self.run.duration, self.run.nominal)[0]

    @property
    def model_calls(self) -> int:
        return self.run.policy.model(self.run.duration, self.run.nominal)[1]

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.run.group,
            "policy": self.run.policy.key,
            "nominal_s": self.run.nominal,
            "provision_s": round(self.run.duration, 3),
            "scale": self.run.scale,
            "latency_s": round(self.latency_s, 3),
            "answer_s": round(self.answer_s, 3),
            "model_latency_s": round(self.model_s, 3),
            "describe_record_calls": self.describe_record_calls,
            "model_calls": self.model_calls,
        }


@dataclass(frozen=True)
class Cell:
    """The runs of one (policy, nominal duration) pair, summarised by their means."""

    policy: Policy
    nominal: float
    runs: list[RunResult]

    @property
    def latency_s(self) -> float:
        return sum(r.latency_s for r in self.runs) / len(self.runs)

    @property
    def model_s(self) -> float:
        return sum(r.model_s for r in self.runs) / len(self.runs)

    @property
    def median_latency_s(self) -> float:
        return median([r.latency_s for r in self.runs])

    @property
    def calls(self) -> float:
        return sum(r.describe_record_calls for r in self.runs) / len(self.runs)

    @property
    def model_calls(self) -> float:
        return sum(r.model_calls for r in self.runs) / len(self.runs)

    def as_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy.key,
            "provision_s": self.nominal,
            "runs": len(self.runs),
            "latency_s_mean": round(self.latency_s, 3),
            "latency_s_median": round(self.median_latency_s, 3),
            "latency_s_min": round(min(r.latency_s for r in self.runs), 3),
            "latency_s_max": round(max(r.latency_s for r in self.runs), 3),
            "model_latency_s_mean": round(self.model_s, 3),
            "describe_record_calls_mean": round(self.calls, 2),
            "model_calls_mean": round(self.model_calls, 2),
        }


@dataclass(frozen=True)
class LatencyResult:
    scale: float
    long_scale: float
    runs: list[RunResult]
    concurrent_creates: int
    warm_environments: int
    environments_started: int
    wall_s: float

    def group(self, group: Group) -> list[RunResult]:
        return [r for r in self.runs if r.run.group == group]

    def cell(self, policy: Policy, nominal: float) -> Cell:
        runs = [r for r in self.group("compare") if r.run.policy == policy and r.run.nominal == nominal]
        if not runs:
            raise MeasurementError(f"no runs for {policy.key} at {nominal:g} s")
        return Cell(policy, nominal, runs)

    def cells(self) -> list[Cell]:
        return [self.cell(policy, nominal) for policy in POLICIES for nominal, _label in DURATIONS]

    @property
    def spread_latencies(self) -> list[float]:
        return [r.latency_s for r in self.group("spread")]

    @property
    def scales(self) -> list[float]:
        return sorted({self.scale, self.long_scale}, reverse=True)

    def sanity(self, scale: float) -> float:
        """Median latency of the same 3 s provisioning (defaults) run at `scale` (1.0 = unscaled)."""
        return median([r.latency_s for r in self.group("sanity") if r.run.scale == scale])

    def scaling_error_s(self, scale: float) -> float:
        return self.sanity(scale) - self.sanity(1.0)


def plan_runs(scale: float, long_scale: float) -> list[Run]:
    """Four runs per comparison cell, the defaults over 1-60 s, and the sanity runs at each scale."""
    runs = [
        Run(
            f"cmp-{policy.key}-{int(nominal)}-{i + 1}",
            "compare",
            policy,
            nominal,
            duration,
            long_scale if nominal >= LONG_PROVISION_S else scale,
        )
        for policy in POLICIES
        for nominal, _label in DURATIONS
        for i, duration in enumerate(policy.cell_durations(nominal))
    ]
    step = 59.0 / (SPREAD_RUNS - 1)
    runs += [
        Run(f"spread-{i + 1}", "spread", DEFAULTS, 1.0 + i * step, 1.0 + i * step, scale) for i in range(SPREAD_RUNS)
    ]
    for each in sorted({1.0, scale, long_scale}):
        runs += [
            Run(f"sanity-x{round(each * 100)}-{i + 1}", "sanity", DEFAULTS, SANITY_DURATION_S, SANITY_DURATION_S, each)
            for i in range(SANITY_REPLICAS)
        ]
    return runs


def seed(sc: ServiceCatalogEmulator, name: str, wall_seconds: float, history: list[float] | None = None) -> str:
    """A product whose provisioning takes `wall_seconds`, with past runs of `history` wall seconds
    (ListRecordHistory); returns the id of a plan ready to execute."""
    script = ProvisioningScript(duration=wall_seconds / sc.time_scale, outputs={"Name": name})  # emulator rescales
    product = sc.add_product(name, script)
    if history:
        sc.seed_record_history(product.id, history, gap=1.0)
    return sc.create_plan(product.id, product.artifact_id("v1"), f"{name}-pp").id


def create(cloud: LocalCloud, name: str, properties: dict[str, Any], wait_s: float) -> StackResult:
    resource = CustomResource("Plan", properties, resource_type=RESOURCE_TYPE)
    return cloud.stack(name).create(resource, delivery=Delivery(service_timeout_override=wait_s))


def preflight() -> None:
    """One quick Create on a fresh local cloud, so a broken asset fails the bench in seconds
    instead of every run waiting out its answer."""
    with LocalCloud(CDK_OUT) as cloud:
        cloud.cloudformation.timeout_override = PREFLIGHT_WAIT_S
        plan_id = seed(cloud.servicecatalog, "preflight", 0.0)
        result = create(cloud, "preflight", {**WARMUP_POLLING, "PlanId": plan_id}, PREFLIGHT_WAIT_S)
        if result.status != "CREATE_COMPLETE":
            errors = [a.error for a in cloud.function.attempts if a.error]
            raise MeasurementError(
                f"a single Create on the local cloud ended {result.status}: {result.outcomes[0].reason}; "
                f"function errors: {errors[:1] or 'none'}"
            )


def warm_up(cloud: LocalCloud, count: int) -> int:
    """Start `count` execution environments before measuring, so no cold start loads the CPU while
    other runs time their polls; the measured creates then reuse them, one each.

    Creates are staggered and topped up in rounds because LocalLambdaRuntime can lose track of an
    environment started while another is being started (see the bench report); lost ones still
    run but are never reused. Returns the number of warm environments reached.
    """
    sc = cloud.servicecatalog
    for round_ in range(WARMUP_ROUNDS):
        missing = min(count - len(cloud.function.live_environment_ids()), WARMUP_BATCH)
        if missing <= 0:
            break
        names = [f"warmup-{round_ + 1}-{i + 1}" for i in range(missing)]
        plans = [seed(sc, name, 0.0) for name in names]

        def one(index: int, names: list[str] = names, plans: list[str] = plans) -> StackResult:
            time.sleep(index * WARMUP_STAGGER_S)
            return create(cloud, names[index], {**WARMUP_POLLING, "PlanId": plans[index]}, PREFLIGHT_WAIT_S * 2)

        with ThreadPoolExecutor(max_workers=missing) as pool:
            results = list(pool.map(one, range(missing)))
        failed = [r.status for r in results if r.status != "CREATE_COMPLETE"]
        if failed:
            raise MeasurementError(f"warm-up creates failed: {failed}")
        cloud.function.wait_for_async(timeout=ROLLBACK_WAIT_S)  # every environment idle again
    return len(cloud.function.live_environment_ids())


def measure(cloud: LocalCloud, run: Run, plan_id: str) -> RunResult:
    """Create the resource and time its answer against the moment its record SUCCEEDED."""
    wait_s = (run.duration + 3 * run.policy.max_interval) * run.scale + 60.0
    result = create(cloud, run.name, {**run.policy.properties(run.scale), "PlanId": plan_id}, wait_s)
    if result.status != "CREATE_COMPLETE" or len(result.outcomes) != 1:
        raise MeasurementError(f"{run.name}: stack {result.status}: {[o.reason for o in result.outcomes]}")
    accepted = [p for p in result.outcomes[0].puts if p.accepted]
    if not accepted:
        raise MeasurementError(f"{run.name}: no accepted answer")
    sc = cloud.servicecatalog
    records = [r for r in sc.records() if r.plan_id == plan_id]
    if len(records) != 1:
        raise MeasurementError(f"{run.name}: expected one record for plan {plan_id}, found {len(records)}")
    record = records[0]
    succeeded = [moment for moment, status in record.timeline if status == "SUCCEEDED"]
    if record.status != "SUCCEEDED" or not succeeded:
        raise MeasurementError(f"{run.name}: record {record.id} is {record.status}")
    polls = [c for c in sc.calls_to("DescribeRecord") if c.params.get("Id") == record.id]
    answered = accepted[0].received_at.timestamp()
    # The deciding poll is the waiter's last: it stops at the status SUCCEEDED (later calls of the
    # record only page its outputs, with a PageToken). Its arrival may precede the SUCCEEDED moment
    # by the instant the emulator takes to answer it.
    status_polls = [
        c.received_at for c in polls if not c.throttled and "PageToken" not in c.params and c.received_at <= answered
    ]
    if not status_polls:
        raise MeasurementError(f"{run.name}: no DescribeRecord of {record.id} before the answer")
    deciding = status_polls[-1]
    # Detection scales with the schedule; the work after the deciding poll (outputs, ownership, the
    # PUT) takes the same wall time at any scale, so it is counted as measured, not divided.
    latency = (deciding - succeeded[0]) / run.scale + (answered - deciding)
    return RunResult(run, latency, len(polls), record.id, answered - deciding)


def run(scale: float = DEFAULT_SCALE, long_scale: float = DEFAULT_LONG_SCALE) -> LatencyResult:
    runs = plan_runs(scale, long_scale)
    started = time.monotonic()
    with LocalCloud(CDK_OUT, time_scale=scale) as cloud:
        cloud.cloudformation.timeout_override = ROLLBACK_WAIT_S  # bounds rollbacks too; creates set their own
        cloud.function.init_timeout = SHARED_CPU_INIT_TIMEOUT_S
        # One wave per nominal duration: ~30 creates at once instead of every cell together, so the
        # 2 cores are not starved while the runs time their polls (the waves' wall times add up).
        waves = [
            [r for r in runs if r.nominal == nominal] for nominal in sorted({r.nominal for r in runs}, reverse=True)
        ]
        warm = warm_up(cloud, max(len(wave) for wave in waves))
        plans = {
            r.name: seed(
                cloud.servicecatalog,
                r.name,
                r.duration * r.scale,
                [d * r.scale for d in r.policy.history_durations(r.nominal)],
            )
            for r in runs
        }
        results: list[RunResult] = []
        for wave in waves:
            # Longest first, a few ms apart: the burst of first calls is over before the short runs end.
            ordered = sorted(wave, key=lambda r: r.duration * r.scale, reverse=True)

            def staggered(index: int, ordered: list[Run] = ordered) -> RunResult:
                time.sleep(index * START_STAGGER_S)
                return measure(cloud, ordered[index], plans[ordered[index].name])

            with ThreadPoolExecutor(max_workers=len(ordered)) as pool:
                results.extend(pool.map(staggered, range(len(ordered))))
            cloud.function.wait_for_async(timeout=ROLLBACK_WAIT_S)  # every environment idle again
        environments = cloud.function.environments_started
    return LatencyResult(scale, long_scale, results, len(runs), warm, environments, time.monotonic() - started)
