"""The fault sweep (issue 16): every sequence clean, then faults at the positions of their traces;
after each run the invariants hold: one answer per request, nothing orphaned, products as the stack
declares them, owner records true, and a clean end (settled; the stack then deletes, nothing left).

`make test` runs a seeded sample covering every fault kind on every service and every call;
`make sweep` runs every position and prints the matrix (see local_cloud/sweep)."""

from __future__ import annotations

import pytest

from local_cloud.sweep.positions import Planned
from local_cloud.sweep.runner import RunOptions, run
from local_cloud.sweep.traces import Trace, compare
from support.sweep_report import record

pytestmark = pytest.mark.timeout(900)


def test_clean_sequence_holds_every_invariant_and_makes_the_recorded_calls(
    request: pytest.FixtureRequest, sweep_options: RunOptions, traces: dict[str, Trace], sweep_sequence: str
) -> None:
    result = run(sweep_options, sweep_sequence, expected_status=traces[sweep_sequence].status)
    record(request.node, result)
    assert result.held, result.report()
    differences = compare(traces[sweep_sequence], result)
    assert differences == [], (
        f"{sweep_sequence} no longer makes the calls its recorded trace says (the sweep's positions are "
        "built on it): record the traces again with `make sweep-traces` and commit tests/sweep/traces.json. "
        + " | ".join(differences)
    )


def test_fault_at_a_position_keeps_every_invariant(
    request: pytest.FixtureRequest, sweep_options: RunOptions, traces: dict[str, Trace], planned: Planned
) -> None:
    position = planned.position
    result = run(sweep_options, position.sequence, position, expected_status=traces[position.sequence].status)
    record(request.node, result)
    assert result.applied > 0, (
        f"the fault never reached {position.site.key}: the handler no longer makes that call there "
        "(record the traces again with `make sweep-traces`)\n" + result.report()
    )
    assert result.held, result.report()
