"""The sweep's positions and sample, from the recorded traces, without running anything: the sample
is the same every time and covers every fault kind on every service and every call; deduplication
keeps every call of every trace swept somewhere; faults are sized to outlast the calling client."""

from __future__ import annotations

from local_cloud.gate import FAULT_KINDS
from local_cloud.gate.faults import supports
from local_cloud.sweep.faults import EVENT_KINDS, EVENT_SERVICE, SWEEP_KINDS, faults_for, put_attempts_in_window
from local_cloud.sweep.positions import DEFAULT_SEED, REGRESSIONS, SAMPLE_BUDGET_SECONDS, positions, sample
from local_cloud.sweep.trace import Site
from local_cloud.sweep.traces import Trace


def test_the_sample_is_seeded_and_covers_every_fault_kind_on_every_service_and_every_call(
    traces: dict[str, Trace],
) -> None:
    everything = positions(traces)
    first = sample(everything, traces, seed=DEFAULT_SEED, budget_seconds=SAMPLE_BUDGET_SECONDS)
    again = sample(positions(traces), traces, seed=DEFAULT_SEED, budget_seconds=SAMPLE_BUDGET_SECONDS)
    assert [p.position.key for p in first] == [p.position.key for p in again]
    calls = {f"{site.service}.{site.operation}" for trace in traces.values() for site in trace.sites}
    calls.add(f"{EVENT_SERVICE}.Delivery")  # every step's delivery, beside its calls
    assert {f"{p.position.site.service}.{p.position.site.operation}" for p in first} == calls
    services = {site.service for trace in traces.values() for site in trace.sites}
    wanted = {_as_met(service, kind) for service in services for kind in FAULT_KINDS if supports(service, kind)}
    wanted |= {(EVENT_SERVICE, kind) for kind in EVENT_KINDS}
    assert {_as_met(p.position.site.service, p.position.kind) for p in first} == wanted
    assert len(first) < len(everything) / 10


def _as_met(service: str, kind: str) -> tuple[str, str]:
    """A fault as the handler meets it: on the ResponseURL a 503 SlowDown and a 500 are the PUT failing."""
    if service == "s3" and kind in ("throttle", "server_error"):
        return (service, "the PUT fails")
    return (service, kind)


def test_the_sample_always_replays_the_violations_a_whole_sweep_found(traces: dict[str, Trace]) -> None:
    everything = positions(traces)
    keys = {p.position.key for p in everything}
    assert set(REGRESSIONS) <= keys, "a regression position is no longer reached: update REGRESSIONS"
    chosen = {p.position.key for p in sample(everything, traces, budget_seconds=SAMPLE_BUDGET_SECONDS)}
    assert set(REGRESSIONS) <= chosen


def test_every_call_of_every_trace_is_swept_at_some_position(traces: dict[str, Trace]) -> None:
    planned = positions(traces)
    swept = {(p.position.site.step_label.split(" ")[1], p.position.site.call) for p in planned}
    for trace in traces.values():
        for site in trace.sites:
            assert (site.step_label.split(" ")[1], site.call) in swept, site.key
    kinds = {p.position.kind for p in planned}
    assert kinds == set(SWEEP_KINDS)
    # every step swept of every sequence has its delivery faulted too
    delivered = {
        (p.position.site.step_label, p.position.kind) for p in planned if p.position.site.service == EVENT_SERVICE
    }
    assert {kind for _label, kind in delivered} == set(EVENT_KINDS)
    # each position is played once, by the first sequence that reaches it
    assert len({p.position.key for p in planned}) == len(planned)


def test_faults_outlast_the_client_that_makes_the_call() -> None:
    def site(service: str, operation: str) -> Site:
        return Site(0, "create Create Bucket", service, operation, "", 1)

    def sized(service: str, operation: str) -> dict[str, tuple[int, float]]:
        return {f.kind: (f.times, f.fault.seconds if f.fault else 0.0) for f in faults_for(site(service, operation))}

    describe = sized("servicecatalog", "DescribeRecord")
    assert describe["throttle"][0] == describe["server_error"][0] == 11  # botocore standard mode, max_attempts 10
    assert describe["disconnect"][0] == 11  # a connection lost on every attempt
    assert describe["slow"] == (1, 9.0)  # the function's clients read for 8 s
    assert sized("lambda", "Invoke")["throttle"][0] == 2  # the hand-over client: 2 attempts, 2 s
    assert sized("lambda", "Invoke")["slow"] == (1, 3.0)
    put = sized("s3", "PutObject")
    assert "not_found" not in put
    assert put["throttle"][0] == put_attempts_in_window() > 5  # a whole delivery window of PUTs
    assert put["slow"] == (1, 11.0)  # the PUT's own 10 s timeout
