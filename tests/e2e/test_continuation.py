"""Provisioning that outlives one invocation: continuation, deadlines, duplicates and a killed
environment, each ending in exactly one correct answer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_cloud.cloud import LocalCloud
from local_cloud.cloudformation import Delivery
from local_cloud.gate import Fault
from support.scenarios import executions, plan, product, resource

SHORT_FUNCTION_TIMEOUT = 4.0


@pytest.fixture
def short_lived(cdk_out: Path) -> Iterator[LocalCloud]:
    """Functions that live 4 s, so a provisioning of a few seconds needs several invocations."""
    with LocalCloud(cdk_out, function_timeout=SHORT_FUNCTION_TIMEOUT, retry_delays=(0.5, 1.0)) as cloud:
        yield cloud


def handovers(cloud: LocalCloud) -> int:
    return cloud.function.log_text().count("Request handed over to a new invocation")


def test_provisioning_longer_than_the_function_succeeds_through_continuation(short_lived: LocalCloud) -> None:
    sc = short_lived.servicecatalog
    result = short_lived.stack("long").create(resource(plan(sc, product(sc, duration=10.0))))
    assert result.status == "CREATE_COMPLETE", result
    (outcome,) = result.outcomes
    assert outcome.answers == 1
    assert outcome.data["Outputs.BucketName"] == "bucket-1"
    assert handovers(short_lived) >= 2
    assert executions(sc) == 1


def test_provisioning_longer_than_the_deadline_fails_clearly_and_in_time(short_lived: LocalCloud) -> None:
    sc = short_lived.servicecatalog
    started = time.monotonic()
    result = short_lived.stack("too-long").create(
        resource(plan(sc, product(sc, duration=16.0)), DeadlineSeconds=9), delivery=Delivery()
    )
    elapsed = time.monotonic() - started
    (failed,) = result.by_phase("create")
    assert failed.status == "FAILED"
    assert "was still IN_PROGRESS when DeadlineSeconds (9 s) ran out" in failed.reason
    assert failed.physical_resource_id.startswith("pp-")
    assert not failed.timed_out
    assert 9 <= failed.seconds < 14
    assert failed.answers == 1
    assert handovers(short_lived) >= 1
    assert elapsed < 60


def test_a_timed_out_hop_retried_by_lambda_ends_without_forking_the_chain(short_lived: LocalCloud) -> None:
    """A hung DescribeRecord: the watchdog hands the request over, the invocation then times out
    and Lambda retries it. The retry finds the request handed over to a later hop and ends; before,
    it went on and handed over again, a second chain (and on a loaded machine, where every hop
    timed out, chains multiplied until the hop limit)."""
    sc = short_lived.servicecatalog
    short_lived.faults.add(Fault.slow(6.0), service="servicecatalog", operation="DescribeRecord", at=2)
    result = short_lived.stack("retried-hop").create(resource(plan(sc, product(sc, duration=12.0))))
    assert result.status == "CREATE_COMPLETE", result
    (outcome,) = result.outcomes
    assert outcome.answers == 1
    short_lived.function.wait_for_async(timeout=30)
    timed_out = [a for a in short_lived.function.attempts if a.outcome != "success"]
    assert timed_out, "the hung call did not outlast the invocation"
    assert "Request already handed over to a later invocation: nothing to do" in short_lived.function.log_text()
    hops = [
        json.loads(line)["hop"]
        for line in short_lived.function.log_text().splitlines()
        if '"Request handed over to a new invocation"' in line
    ]
    assert len(hops) == len(set(hops)), f"a hop was handed over twice: {hops}"


def test_a_delete_continued_after_its_product_is_gone_believes_its_terminate_record(short_lived: LocalCloud) -> None:
    """The terminate record's first read hangs past the invocation, and the product is gone by the
    time the next hop looks. Proving absence by reads takes 4 s, more than a 4-s function's hop
    has: before, every hop started the reads again and handed over (a Delete that never answered,
    the CI hang of 2026-12-07); now the hop believes the terminate record the request started."""
    sc = short_lived.servicecatalog
    stack = short_lived.stack("gone-between-hops")
    assert stack.create(resource(plan(sc, product(sc, terminate_duration=1.0)))).status == "CREATE_COMPLETE"
    short_lived.faults.add(Fault.slow(6.0), service="servicecatalog", operation="DescribeRecord")
    deleted = stack.delete(delivery=Delivery(service_timeout_override=90))
    assert deleted.status == "DELETE_COMPLETE", deleted
    (outcome,) = deleted.outcomes
    assert outcome.status == "SUCCESS" and outcome.answers == 1 and not outcome.timed_out
    assert sc.provisioned_products() == []
    assert handovers(short_lived) >= 1


def test_killed_environment_mid_poll_resumes_the_same_work(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    stack = cloud.stack("killed")
    definition = resource(plan(sc, product(sc, duration=5.0)))
    killer_done: list[str] = []

    def kill_once_polling() -> None:
        cloud.function.wait_for_log('"record_status":"IN_PROGRESS"', timeout=30)
        killer_done.append(cloud.function.kill_environment())

    killer = threading.Thread(target=kill_once_polling)
    killer.start()
    result = stack.create(definition)
    killer.join()
    assert killer_done, "no environment was killed"
    assert result.status == "CREATE_COMPLETE", result
    (outcome,) = result.outcomes
    assert outcome.answers == 1
    assert executions(sc) == 1
    cloud.function.wait_for_async()
    crashed = [a for a in cloud.function.attempts if a.outcome == "crash"]
    assert crashed, "the kill did not hit an invocation"
    retried = cloud.function.attempts_for(crashed[0].request_id)
    assert retried[-1].outcome == "success" and retried[-1].attempt > crashed[0].attempt


def test_late_duplicate_after_the_answer_makes_no_call(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    result = cloud.stack("late").create(
        resource(plan(sc, product(sc, duration=0.5))), delivery=Delivery(times=2, duplicate_delay=4.0)
    )
    assert result.status == "CREATE_COMPLETE", result
    calls_after_answer = len(sc.calls)
    time.sleep(5.0)
    (outcome,) = result.outcomes
    assert outcome.answers == 1
    assert len(sc.calls) == calls_after_answer


def test_rollback_delete_of_a_product_still_provisioning_waits_then_terminates(short_lived: LocalCloud) -> None:
    sc = short_lived.servicecatalog
    result = short_lived.stack("cleanup").create(resource(plan(sc, product(sc, duration=12.0)), DeadlineSeconds=5))
    assert result.status == "ROLLBACK_COMPLETE", result
    (rollback,) = result.by_phase("rollback")
    assert rollback.status == "SUCCESS"
    assert rollback.answers == 1
    assert sc.provisioned_products() == []


def test_duplicated_continuations_still_answer_once(short_lived: LocalCloud) -> None:
    sc = short_lived.servicecatalog
    short_lived.lambda_api.duplicate_events = True  # every hand-over is delivered twice
    result = short_lived.stack("dup-hops").create(resource(plan(sc, product(sc, duration=12.0))))
    assert result.status == "CREATE_COMPLETE", result
    (outcome,) = result.outcomes
    time.sleep(SHORT_FUNCTION_TIMEOUT)  # let every duplicated chain reach its end
    assert outcome.answers == 1
    assert executions(sc) == 1
    # Several hand-overs, each delivered twice (fewer than 12 s / 4 s when a busy machine slows starts).
    assert handovers(short_lived) >= 2
