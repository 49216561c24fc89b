"""Failures in the middle of a change (issue 16, section 1), each end to end on the local cloud under
the real rules: nothing orphaned (every product that exists is some resource's physical id),
nothing stuck, and every request answered exactly once. Each of these failed before the fix."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_cloud.cloud import LocalCloud
from local_cloud.cloudformation import Delivery
from local_cloud.gate import Fault
from local_cloud.servicecatalog import ProvisioningScript, RecordError, ServiceCatalogEmulator
from local_cloud.servicecatalog.errors import AccessDeniedException
from sc_plan_provider.core.request import PlanRequest
from sc_plan_provider.records.ledger import request_key
from support.scenarios import plan, product, resource, spec_resource

SHORT_FUNCTION_TIMEOUT = 4.0
_OWNERS_PREFIX = "ServiceCatalogPlanExecutionProviderOwners"
_REQUESTS_PREFIX = "ServiceCatalogPlanExecutionProviderRequests"


@pytest.fixture
def short_lived(cdk_out: Path) -> Iterator[LocalCloud]:
    """Functions that live 4 s: waits of a few seconds need continuations."""
    with LocalCloud(cdk_out, function_timeout=SHORT_FUNCTION_TIMEOUT, retry_delays=(0.5, 1.0)) as cloud:
        yield cloud


def live_ids(sc: ServiceCatalogEmulator) -> set[str]:
    return {p.id for p in sc.provisioned_products()}


def owner_items(cloud: LocalCloud) -> dict[str, dict[str, Any]]:
    (table,) = [name for logical_id, name in cloud.tables.items() if logical_id.startswith(_OWNERS_PREFIX)]
    items = cloud.dynamodb.client().scan(TableName=table)["Items"]
    return {item["ProvisionedProductId"]["S"]: item for item in items}


def handovers(cloud: LocalCloud) -> int:
    return cloud.function.log_text().count("Request handed over to a new invocation")


def test_a_replacement_that_fails_on_the_deadline_is_terminated_with_a_deletes_patience(cloud: LocalCloud) -> None:
    """The new product runs past DeadlineSeconds: the FAILED answer keeps the old id, and the new
    product is terminated (the cleanup waits as long as a Delete would, not the expired deadline)."""
    sc = cloud.servicecatalog
    stack = cloud.stack("replace-deadline")
    assert stack.create(resource(plan(sc, product(sc), "first-pp"), DeadlineSeconds=60)).status == "CREATE_COMPLETE"
    old_id = stack.resources["Bucket"].physical_resource_id
    slow = product(sc, "slow", duration=12.0, terminate_duration=1.0)
    updated = stack.update(resource(plan(sc, slow, "second-pp"), DeadlineSeconds=4))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    (update,) = updated.by_phase("update")
    assert "DeadlineSeconds (4 s) ran out" in update.reason and "was terminated" in update.reason
    assert live_ids(sc) == {old_id}


def test_a_replacement_whose_outputs_cannot_be_read_is_terminated(cloud: LocalCloud) -> None:
    """Anything going wrong after the execution (here: access denied reading the new product) is
    a failure that removes the new product, not only a FAILED record."""
    sc = cloud.servicecatalog
    stack = cloud.stack("replace-denied")
    assert stack.create(resource(plan(sc, product(sc), "first-pp"))).status == "CREATE_COMPLETE"
    old_id = stack.resources["Bucket"].physical_resource_id
    second = plan(sc, product(sc, "other", duration=1.0), "second-pp")
    denied = AccessDeniedException("User is not authorized to perform: servicecatalog:DescribeProvisionedProduct")
    sc.inject_failure("DescribeProvisionedProduct", denied, times=1)
    updated = stack.update(resource(second))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    (update,) = updated.by_phase("update")
    assert "AccessDeniedException" in update.reason and "was terminated" in update.reason
    assert live_ids(sc) == {old_id}


def test_the_watchdog_hands_a_slow_call_over_instead_of_failing(short_lived: LocalCloud) -> None:
    """A hung DescribeRecord outlasts the invocation: the watchdog continues the request in a new
    invocation, and the healthy Create succeeds (it used to answer FAILED and roll back)."""
    sc = short_lived.servicecatalog
    short_lived.faults.add(Fault.slow(6.0), service="servicecatalog", operation="DescribeRecord", at=2)
    result = short_lived.stack("watchdog").create(resource(plan(sc, product(sc, duration=6.0))))
    assert result.status == "CREATE_COMPLETE", result
    (outcome,) = result.outcomes
    assert outcome.answers == 1
    assert handovers(short_lived) >= 1
    assert "reached its Lambda timeout" not in short_lived.function.log_text()


def test_the_deadline_keeps_its_anchor_when_the_ledgers_first_write_fails(short_lived: LocalCloud) -> None:
    """The first arrival travels with every continuation: with the ledger's first write failed, the
    clear FAILED still comes DeadlineSeconds after the request first arrived."""
    sc = short_lived.servicecatalog
    # DynamoDB's ResourceNotFoundException is not retried: the very first ledger write fails at once.
    short_lived.faults.add(Fault.not_found(), service="dynamodb", operation="UpdateItem", at=1)
    # The product outlasts the deadline; its rollback then waits only for the rest of its run.
    result = short_lived.stack("anchor").create(resource(plan(sc, product(sc, duration=14.0)), DeadlineSeconds=9))
    (create,) = result.by_phase("create")
    assert create.status == "FAILED" and "DeadlineSeconds (9 s) ran out" in create.reason
    assert not create.timed_out
    assert create.seconds < 16  # 9 s from the first arrival (continuations took over from there)
    assert handovers(short_lived) >= 1


def test_a_deadline_up_to_service_timeout_is_capped_to_leave_time_to_answer(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    definition = resource(plan(sc, product(sc, duration=60.0)), DeadlineSeconds=20)
    definition.service_timeout = 20
    result = cloud.stack("capped").create(definition, delivery=Delivery(service_timeout_override=20))
    (create,) = result.by_phase("create")
    assert create.status == "FAILED", create
    assert not create.timed_out  # answered before CloudFormation gave up
    assert "DeadlineSeconds (20 s given, capped at 10 s" in create.reason


def test_a_failed_request_never_takes_ownership(cloud: LocalCloud) -> None:
    """A product with no owner on record (provisioned before owners were recorded): another stack's
    Create naming its executed plan fails without claiming it, so its real stack can still delete it."""
    sc = cloud.servicecatalog
    real = cloud.stack("real-owner")
    shared_plan = plan(sc, product(sc))
    assert real.create(resource(shared_plan)).status == "CREATE_COMPLETE"
    product_id = real.resources["Bucket"].physical_resource_id
    assert product_id is not None
    (table,) = [name for logical_id, name in cloud.tables.items() if logical_id.startswith(_OWNERS_PREFIX)]
    cloud.dynamodb.client().delete_item(TableName=table, Key={"ProvisionedProductId": {"S": product_id}})

    other = cloud.stack("other").create(resource(shared_plan))
    assert other.status == "ROLLBACK_COMPLETE", other
    assert "already executed by another request" in other.by_phase("create")[0].reason
    assert "StackId" not in owner_items(cloud).get(product_id, {})  # no claim left behind
    assert real.delete().status == "DELETE_COMPLETE"
    assert live_ids(sc) == set()


def test_reasons_keep_their_words_in_any_language(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    message = "バケット名は既に使用されています。別の名前を指定してください。" * 60
    failing = product(sc, duration=0.3, errors=[RecordError("CREATE_FAILED", message)])
    result = cloud.stack("japanese").create(resource(plan(sc, failing)))
    (create,) = result.by_phase("create")
    assert create.status == "FAILED"
    assert "バケット名は既に使用されています" in create.reason
    (put,) = [p for p in create.puts if p.accepted]
    assert len(put.body) <= 4096
    assert json.loads(put.body)["Reason"] == create.reason


def test_a_create_cloudformation_gave_up_on_leaves_nothing_running(cloud: LocalCloud) -> None:
    """CloudFormation stops waiting for a Create and deletes the resource under an id of its own:
    the Delete finds the product this resource's Create made (from the PlanId and the owner
    records) and terminates it."""
    sc = cloud.servicecatalog
    long_plan = plan(sc, product(sc, duration=8.0, terminate_duration=0.5))
    result = cloud.stack("gave-up").create(resource(long_plan), delivery=Delivery(service_timeout_override=3))
    (create,) = result.by_phase("create")
    assert create.timed_out and create.invented_physical_id
    (rollback,) = result.by_phase("rollback")
    assert rollback.status == "SUCCESS", rollback.reason
    assert live_ids(sc) == set()
    cloud.function.wait_for_async(timeout=60)
    assert live_ids(sc) == set()  # and the Create's own chain executed nothing afterwards


def test_a_create_superseded_before_its_plan_was_ready_never_executes(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    # Reads find the plan at once here, so the Create really waits for it to be ready.
    sc.rules = dataclasses.replace(sc.rules, not_found_reads=0)
    slow_plan = plan(sc, product(sc, plan_duration=12.0, duration=0.5))
    result = cloud.stack("superseded-create").create(resource(slow_plan), delivery=Delivery(service_timeout_override=2))
    assert result.status == "ROLLBACK_COMPLETE", result
    time.sleep(13.0)  # the plan becomes ready; the Create's chain must not act on it now
    cloud.function.wait_for_async(timeout=60)
    assert [r for r in sc.records() if r.plan_id == slow_plan] == []
    # Only the user's plan's own placeholder is there, never provisioned (the plan is still theirs).
    assert [p.status for p in sc.provisioned_products()] == ["PLAN_IN_PROGRESS"]
    assert sc.plan(slow_plan).status == "CREATE_SUCCESS"


def test_a_superseded_update_does_not_undo_its_rollback(cloud: LocalCloud) -> None:
    """A forward Update still waiting for its plan when CloudFormation rolls the resource back:
    the later request wins, and the forward plan never executes."""
    sc = cloud.servicecatalog
    seeded = product(sc)
    stack = cloud.stack("superseded-update")
    assert stack.create(resource(plan(sc, seeded))).status == "CREATE_COMPLETE"
    product_id = stack.resources["Bucket"].physical_resource_id
    assert product_id is not None
    artifact = sc.current_artifact_id(product_id)
    # The plan is ready long after CloudFormation gave up (2 s) and the rollback reached the
    # provider (a cold start on a loaded machine included).
    sc.set_script(seeded.artifact_id("v1"), ProvisioningScript(plan_duration=12.0, duration=0.5))
    forward = plan(sc, seeded)
    updated = stack.update(resource(forward), delivery=Delivery(service_timeout_override=2))
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    time.sleep(13.0)
    cloud.function.wait_for_async(timeout=60)
    assert [r for r in sc.records() if r.plan_id == forward] == []
    assert sc.current_artifact_id(product_id) == artifact


def test_a_running_record_that_cannot_be_read_is_not_a_terminated_product(cloud: LocalCloud) -> None:
    """Reads of the terminate record answer not found for a while: the Delete keeps waiting, and
    answers SUCCESS only once the product is really gone."""
    sc = cloud.servicecatalog
    stack = cloud.stack("unreadable-record")
    assert stack.create(resource(plan(sc, product(sc, terminate_duration=3.0)))).status == "CREATE_COMPLETE"
    sc.inject_not_found("DescribeRecord", times=3)
    deleted = stack.delete()
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert live_ids(sc) == set()  # gone when the answer came, not merely not readable


def test_one_answer_even_when_recording_it_fails(cloud: LocalCloud) -> None:
    """The answer was PUT but recording that failed (the ledger still says it is being answered):
    a later duplicate delivery neither answers again nor plans the spec again."""
    sc = cloud.servicecatalog
    seeded = sc.add_product("bucket", ProvisioningScript(duration=0.5, outputs={"BucketName": "b"}))
    result = cloud.stack("recorded").create(spec_resource(seeded, "recorded-pp"))
    assert result.status == "CREATE_COMPLETE", result
    (create,) = result.outcomes
    # What a failed recording leaves: the answer claimed (SENDING, by the invocation that sent it), never SENT.
    (table,) = [name for logical_id, name in cloud.tables.items() if logical_id.startswith(_REQUESTS_PREFIX)]
    key = request_key(PlanRequest.from_event(create.event))
    cloud.dynamodb.client().update_item(
        TableName=table,
        Key={"RequestKey": {"S": key}},
        UpdateExpression="SET #answer = :sending",
        ExpressionAttributeNames={"#answer": "Answer"},
        ExpressionAttributeValues={":sending": {"S": "SENDING"}},
    )
    planned = len(sc.calls_to("CreateProvisionedProductPlan"))
    cloud.function.invoke_async(create.event)  # Lambda delivers the same event once more
    cloud.function.wait_for_async(timeout=60)
    assert create.answers == 1
    assert len(sc.calls_to("CreateProvisionedProductPlan")) == planned
