"""Faults the real services produce, planned on the local cloud by position, reach the synthesized
function through its own clients: the call log shows where each landed and how the function rode it out."""

from __future__ import annotations

from pathlib import Path

from local_cloud.cloud import LocalCloud
from local_cloud.gate import Fault
from support.scenarios import executions, plan, product, resource


def test_a_throttled_dynamodb_write_is_retried_by_the_functions_client(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    cloud.faults.add(Fault.throttle(), service="dynamodb", operation="UpdateItem", times=3)
    result = cloud.stack("throttled").create(resource(plan(sc, product(sc))))
    assert result.status == "CREATE_COMPLETE", result
    writes = [c for c in cloud.calls() if c.operation == "UpdateItem"]
    assert [c.outcome for c in writes[:4]] == ["ThrottlingException"] * 3 + ["ok"]
    assert [c.fault for c in writes[:4]] == ["throttle"] * 3 + [None]
    assert len({c.resources for c in writes[:4]}) == 1  # the same write, retried
    assert executions(sc) == 1


def test_an_environment_killed_while_polling_is_replaced_and_the_request_resumes(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    cloud.faults.add(Fault.kill(), service="servicecatalog", operation="DescribeRecord", at=2)
    result = cloud.stack("killed").create(resource(plan(sc, product(sc, duration=2.0))))
    assert result.status == "CREATE_COMPLETE", result
    (outcome,) = result.outcomes
    assert outcome.answers == 1
    assert executions(sc) == 1
    cloud.function.wait_for_async()
    assert [a.outcome for a in cloud.function.attempts] == ["crash", "success"]  # Lambda's async retry
    killed = [c for c in cloud.calls() if c.fault == "kill"]
    assert [(c.operation, c.outcome) for c in killed] == [("DescribeRecord", "dropped")]


def test_failing_response_url_puts_are_retried_until_one_is_accepted(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    cloud.faults.add(Fault.server_error(), service="s3", operation="PutObject")
    cloud.faults.add(Fault.throttle(), service="s3", operation="PutObject", at=2)
    result = cloud.stack("put-retried").create(resource(plan(sc, product(sc))))
    assert result.status == "CREATE_COMPLETE", result
    (outcome,) = result.outcomes
    assert [p.http_status for p in outcome.puts] == [500, 503, 200]
    assert [c.outcome for c in cloud.calls() if c.service == "s3"] == ["InternalError", "SlowDown", "ok"]


def test_scaled_retry_delays_bring_a_throttle_past_every_attempt_to_the_handler_in_seconds(cdk_out: Path) -> None:
    with LocalCloud(cdk_out, retry_delays=(0.5, 1.0), retry_delay_scale=0.01) as scaled:
        sc = scaled.servicecatalog
        scaled.faults.add(
            Fault.throttle(), service="servicecatalog", operation="ExecuteProvisionedProductPlan", times=11
        )
        result = scaled.stack("throttled-past-retries").create(resource(plan(sc, product(sc))))
        (failed, _rollback) = result.outcomes
        assert failed.status == "FAILED" and "ExecuteProvisionedProductPlan was throttled" in failed.reason
        throttled = [c for c in scaled.calls() if c.fault == "throttle"]
        # botocore's 11 attempts, all made; unscaled their jittered sleeps average a minute (up to 131 s)
        assert len(throttled) == 11
        assert throttled[-1].started_at - throttled[0].started_at < 5
        assert executions(sc) == 0
