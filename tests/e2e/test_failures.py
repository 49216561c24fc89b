"""Bad input, failing plans, duplicate delivery, throttling, oversized outputs and a 5xx on the
ResponseURL, end to end: what CloudFormation receives and what Service Catalog holds."""

from __future__ import annotations

import time

import pytest

from local_cloud.cloud import LocalCloud
from local_cloud.cloudformation import Delivery
from support.scenarios import executions, plan, product, resource


@pytest.mark.parametrize(
    ("plan_id", "reason"),
    [
        (None, "PlanId is required"),
        ("not a plan!", "PlanId 'not a plan!' is not a plan id"),
        ("plan-does-not-exist", "PlanId plan-does-not-exist was not found"),
    ],
)
def test_bad_plan_id_fails_fast_and_the_rollback_leaves_nothing(
    cloud: LocalCloud, plan_id: str | None, reason: str
) -> None:
    started = time.monotonic()
    result = cloud.stack("bad").create(resource(plan_id))
    assert result.status == "ROLLBACK_COMPLETE", result
    (failed,) = result.by_phase("create")
    assert failed.status == "FAILED"
    assert reason in failed.reason
    # Within seconds: an unknown plan is looked for ~2 s first (a plan just created may not be
    # visible yet), plus the function's cold start on a loaded machine.
    assert failed.seconds < 8
    (rollback,) = result.by_phase("rollback")
    assert rollback.status == "SUCCESS"
    assert rollback.physical_resource_id == failed.physical_resource_id
    # The plan was only looked for, and the rollback Delete recognised the marker id and asked
    # Service Catalog nothing.
    assert {c.operation for c in cloud.servicecatalog.calls} <= {"DescribeProvisionedProductPlan"}
    assert cloud.servicecatalog.provisioned_products() == [] or plan_id is None
    assert time.monotonic() - started < 15


def test_plan_that_failed_to_create_fails_with_its_message(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    plan_id = plan(sc, product(sc, plan_failure="Parameter BucketName must be lowercase"))
    result = cloud.stack("plan-failed").create(resource(plan_id))
    assert result.status == "ROLLBACK_COMPLETE"
    assert "is CREATE_FAILED: Parameter BucketName must be lowercase" in result.by_phase("create")[0].reason
    assert executions(sc) == 0


def test_plan_still_being_created_is_waited_for(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    plan_id = plan(sc, product(sc, plan_duration=1.0))
    assert sc.plan(plan_id).status == "CREATE_IN_PROGRESS"
    result = cloud.stack("plan-creating").create(resource(plan_id))
    assert result.status == "CREATE_COMPLETE", result


def test_duplicate_delivery_executes_once_and_answers_once(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    plan_id = plan(sc, product(sc, duration=2.0))
    result = cloud.stack("dup").create(resource(plan_id), delivery=Delivery(times=2, duplicate_delay=0.3))
    assert result.status == "CREATE_COMPLETE", result
    (outcome,) = result.outcomes
    assert executions(sc) == 1
    # Both deliveries executed with the same idempotency token and got the same record back...
    tokens = {c.params["IdempotencyToken"] for c in sc.calls_to("ExecuteProvisionedProductPlan") if not c.throttled}
    assert len(tokens) == 1
    # ...and the request ledger let only one of them answer.
    time.sleep(2.0)
    assert outcome.answers == 1


def test_every_second_call_throttled_still_succeeds(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    sc.inject_throttling(every=2)
    stack = cloud.stack("throttled")
    created = stack.create(resource(plan(sc, product(sc))))
    assert created.status == "CREATE_COMPLETE", created
    deleted = stack.delete()
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert any(c.throttled for c in sc.calls)
    assert executions(sc) == 1
    assert sc.provisioned_products() == []


def test_oversized_outputs_fit_4096_bytes_and_keep_the_ids(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    outputs = {f"Output{i:03d}": "x" * 120 for i in range(150)}
    result = cloud.stack("big").create(resource(plan(sc, product(sc, outputs=outputs))))
    assert result.status == "CREATE_COMPLETE", result
    (outcome,) = result.outcomes
    (put,) = outcome.puts
    assert len(put.body) <= 4096
    assert outcome.data["ProvisionedProductId"] == outcome.physical_resource_id
    assert outcome.data["RecordId"]
    kept = [k for k in outcome.data if k.startswith("Outputs.")]
    assert 0 < len(kept) < 150
    assert "Outputs left out of the response to fit 4096 bytes" in cloud.function.log_text()
    # The answer names the outputs it left out, for the stack to show (GetAtt OutputsLeftOut).
    # The record's outputs: the scripted ones, then the product's stack (CloudformationStackARN).
    left_out = [f"Outputs.{key}" for key in [*outputs, "CloudformationStackARN"] if f"Outputs.{key}" not in kept]
    *named, rest = outcome.data["OutputsLeftOut"].split(",")
    assert named == left_out[: len(named)]
    assert rest == f"... ({len(left_out)} in all)"


def test_5xx_on_the_response_url_is_retried_until_accepted(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    result = cloud.stack("retried-puts").create(resource(plan(sc, product(sc))), delivery=Delivery(fail_first_puts=2))
    assert result.status == "CREATE_COMPLETE", result
    (outcome,) = result.outcomes
    assert [put.note for put in outcome.puts] == ["injected-5xx", "injected-5xx", "accepted"]


def test_function_logs_never_show_the_response_url(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    result = cloud.stack("logs").create(resource(plan(sc, product(sc))), delivery=Delivery(fail_first_puts=1))
    (outcome,) = result.outcomes
    secret = outcome.event["ResponseURL"].split("X-Amz-Signature=")[1].split("&")[0]
    logs = cloud.function.log_text()
    assert "Request received" in logs
    assert secret not in logs
    assert "ResponseURL" not in logs
