"""Failures the fault sweep did not play before issue 23, each end to end on the local cloud: a
connection lost past botocore's retries, a watchdog still handing over when the handler returns
(Lambda freezes the environment), an answer that cannot be encoded after it was claimed, a Delete
whose owners table stays away for longer than an invocation, and a rollback Delete of a Create that
left a product it could not remove. Each of these failed before the change."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_cloud.cloud import LocalCloud
from local_cloud.cloudformation import Delivery, StackResult
from local_cloud.gate import Fault
from local_cloud.servicecatalog import ProvisioningScript, ServiceCatalogEmulator
from local_cloud.servicecatalog.errors import AccessDeniedException
from local_cloud.sweep.trace import table_role
from support.scenarios import executions, plan, product, resource, spec_resource

# botocore's standard mode: the function's clients make 11 attempts (runtime/clients.py).
ATTEMPTS = 11


@pytest.fixture
def fast_retries(cdk_out: Path) -> Iterator[LocalCloud]:
    """botocore's backoff scaled down, so a fault past every attempt reaches the handler in seconds."""
    with LocalCloud(cdk_out, retry_delays=(0.5, 1.0), retry_delay_scale=0.01) as cloud:
        yield cloud


@pytest.fixture
def short_lived(cdk_out: Path) -> Iterator[LocalCloud]:
    """Functions that live 4 s, with botocore's backoff scaled down."""
    with LocalCloud(cdk_out, function_timeout=4.0, retry_delays=(0.5, 1.0), retry_delay_scale=0.01) as cloud:
        yield cloud


def table_arn(cloud: LocalCloud, role: str) -> str:
    (name,) = [name for logical_id, name in cloud.tables.items() if table_role(logical_id) == role]
    return f"arn:aws:dynamodb:{cloud.spec.region}:{cloud.spec.account_id}:table/{name}"


def live_ids(sc: ServiceCatalogEmulator) -> set[str]:
    return {p.id for p in sc.provisioned_products()}


def delete_through_an_owners_outage(cloud: LocalCloud, fault: Fault, *, times: int) -> StackResult:
    """Create a stack, then delete it while the owners table's writes get `fault` `times` in a row."""
    sc = cloud.servicecatalog
    stack = cloud.stack("owners-outage")
    assert stack.create(resource(plan(sc, product(sc)))).status == "CREATE_COMPLETE"
    owners = table_arn(cloud, "owners")
    cloud.faults.add(fault, service="dynamodb", operation="UpdateItem", resource=owners, times=times)
    return stack.delete()


def test_an_owners_table_lost_after_the_execution_still_answers_with_the_product(fast_retries: LocalCloud) -> None:
    """The write recording the execution's record meets a connection lost past every retry (a
    BotoCoreError, not a ClientError): the Create still reports its product; before, the error
    escaped, the answer carried the not-provisioned marker and the product was orphaned."""
    cloud = fast_retries
    sc = cloud.servicecatalog
    # The Create's owners writes: the claim, the intent to execute, then (after the execution) its record.
    cloud.faults.add(
        Fault.disconnect(),
        service="dynamodb",
        operation="UpdateItem",
        resource=table_arn(cloud, "owners"),
        at=3,
        times=ATTEMPTS,
    )
    result = cloud.stack("lost-owners").create(resource(plan(sc, product(sc))))
    assert result.status == "CREATE_COMPLETE", result
    (outcome,) = result.outcomes
    assert [c.fault for c in cloud.calls() if c.fault] == ["disconnect"] * ATTEMPTS
    assert live_ids(sc) == {outcome.physical_resource_id}
    assert "Could not record the execution's record id" in cloud.function.log_text()


def test_a_delete_keeps_trying_an_owners_table_it_cannot_reach(fast_retries: LocalCloud) -> None:
    """The Delete's owner check loses its connection past every retry, twice: it keeps trying (as
    for any unavailability) and terminates the product; before, the Delete failed and left it."""
    deleted = delete_through_an_owners_outage(fast_retries, Fault.disconnect(), times=2 * ATTEMPTS)
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert live_ids(fast_retries.servicecatalog) == set()


def test_a_delete_waits_out_an_owners_outage_longer_than_its_invocation(short_lived: LocalCloud) -> None:
    """The owners table refuses for longer than the 4-second function lives: the Delete continues in
    a new invocation instead of failing at the function's deadline with the product left behind."""
    started = time.monotonic()
    deleted = delete_through_an_owners_outage(short_lived, Fault.throttle(), times=8 * ATTEMPTS)
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert time.monotonic() - started > 4.0  # the outage outlived an invocation
    assert "Request handed over to a new invocation" in short_lived.function.log_text()
    assert live_ids(short_lived.servicecatalog) == set()


def test_the_handler_does_not_return_while_its_watchdog_hands_over(cdk_out: Path) -> None:
    """A call hangs until the watchdog fires, then answers at once; the watchdog's hand-over Invoke
    is throttled on its first attempt. Lambda freezes the environment when the handler returns:
    before, the handler returned first and the frozen watchdog never handed over (CloudFormation
    waited out its ServiceTimeout); now it waits for the hand-over, and the request completes."""
    with LocalCloud(cdk_out, function_timeout=20.0, retry_delays=(0.5, 1.0)) as cloud:
        sc = cloud.servicecatalog
        release = threading.Event()
        # Every attempt is held (each outlasts the client's read timeout) until the watchdog fires.
        cloud.faults.add(
            Fault.slow(30.0, release=release), service="servicecatalog", operation="DescribeRecord", times=3
        )
        cloud.faults.add(Fault.throttle(), service="lambda", operation="Invoke")
        definition = resource(plan(sc, product(sc, duration=1.0)))
        definition.service_timeout = 60

        def release_when_the_watchdog_fires() -> None:
            cloud.function.wait_for_log("Lambda deadline near while a call is still running", timeout=40)
            release.set()

        watcher = threading.Thread(target=release_when_the_watchdog_fires, daemon=True)
        watcher.start()
        result = cloud.stack("watchdog-join").create(definition, delivery=Delivery(service_timeout_override=60))
        release.set()
        assert result.status == "CREATE_COMPLETE", result
        (outcome,) = result.outcomes
        assert outcome.answers == 1 and not outcome.timed_out
        # The hand-over took effect: its continuation ran. (The first invocation's own "handed over"
        # line may never be written: the watchdog leaves this 20-second function one second, and a
        # slow Invoke answer can outlast it; the continuation is what counts.)
        cloud.function.wait_for_async()
        continuations = [
            attempt.event["ServiceCatalogPlanContinuation"]["Hop"]
            for attempt in cloud.function.attempts
            if isinstance(attempt.event, dict) and "ServiceCatalogPlanContinuation" in attempt.event
        ]
        assert continuations and set(continuations) == {1}, continuations
        assert executions(sc) == 1


def test_an_answer_that_cannot_be_encoded_is_answered_failed_not_left_claimed(cloud: LocalCloud) -> None:
    """An output value that UTF-8 cannot carry (a lone surrogate) broke the answer after it was
    claimed: every later delivery found the claim and stopped, and CloudFormation waited out its
    ServiceTimeout. The body is now built before the claim: the stack gets a FAILED answer saying
    so, and its rollback removes the product."""
    sc = cloud.servicecatalog
    definition = resource(plan(sc, product(sc, outputs={"Broken": "\ud800"})))
    definition.service_timeout = 60
    result = cloud.stack("unencodable").create(definition, delivery=Delivery(service_timeout_override=60))
    assert result.status == "ROLLBACK_COMPLETE", result
    (create,) = result.by_phase("create")
    assert not create.timed_out
    assert create.status == "FAILED" and "could not encode its answer" in create.reason
    assert create.physical_resource_id is not None and create.physical_resource_id.startswith("pp-")
    assert live_ids(sc) == set()  # the rollback Delete terminated the product the answer named


def test_a_rollback_of_a_create_that_answered_without_a_product_removes_what_it_left(cloud: LocalCloud) -> None:
    """A spec-mode Create refused by the change gate removes the placeholder its plan made; that
    removal is denied once, so the placeholder is recorded as the resource's to remove and the
    Create answers FAILED with the not-provisioned marker. The rollback Delete of that marker
    removes it; before, it returned at once and the placeholder outlived the stack."""
    sc = cloud.servicecatalog
    removal = {
        "Action": "REMOVE",
        "LogicalResourceId": "Logs",
        "ResourceType": "AWS::S3::Bucket",
        "Scope": [],
        "Details": [],
    }
    gated = sc.add_product("gated", ProvisioningScript(duration=0.3, resource_changes=[removal]))
    sc.inject_failure(
        "TerminateProvisionedProduct",
        AccessDeniedException("User is not authorized to perform: servicecatalog:TerminateProvisionedProduct"),
        times=1,
    )
    result = cloud.stack("left-behind").create(spec_resource(gated, "gated-pp"))
    assert result.status == "ROLLBACK_COMPLETE", result
    (create,) = result.by_phase("create")
    assert "could not be terminated" in create.reason or "would be removed" in create.reason
    assert create.physical_resource_id is not None and create.physical_resource_id.startswith("not-provisioned-")
    (rollback,) = result.by_phase("rollback")
    assert rollback.status == "SUCCESS", rollback
    assert live_ids(sc) == set()


def test_an_answer_whose_put_keeps_failing_is_handed_on_and_resent_as_recorded(short_lived: LocalCloud) -> None:
    """The ResponseURL refuses for longer than Lambda's three attempts of a 4-second function would
    keep trying: the claimed answer (its body recorded with the claim) is handed on from invocation
    to invocation and re-sent byte for byte, and the request is not redone. Before, the answer was
    lost after Lambda's third attempt and CloudFormation waited out its ServiceTimeout."""
    cloud = short_lived
    sc = cloud.servicecatalog
    cloud.faults.add(Fault.server_error(), service="s3", operation="PutObject", times=16)
    definition = resource(plan(sc, product(sc)))
    definition.service_timeout = 90
    result = cloud.stack("handed-on").create(definition, delivery=Delivery(service_timeout_override=90))
    assert result.status == "CREATE_COMPLETE", result
    (outcome,) = result.outcomes
    assert not outcome.timed_out
    puts = [p for p in outcome.puts if p.method == "PUT"]
    assert [p.accepted for p in puts] == [False] * 16 + [True]
    assert len(puts) == 17 and len({p.body for p in puts}) == 1  # the same bytes every time
    first_put = min(c.started_at for c in cloud.calls() if c.service == "s3")
    assert all(c.started_at < first_put for c in cloud.calls() if c.service == "servicecatalog")  # not redone
    assert cloud.function.log_text().count("handing the delivery on") >= 3
    assert executions(sc) == 1
