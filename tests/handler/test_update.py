"""Update: same plan reports, new plan executes, replacement ids, and rollbacks stay clean."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from sc_plan_provider import handler
from support import sc_stubs as sc
from support.cfn_requests import Answers, invoke, make_event

FAST = {"PollingIntervalSeconds": "0.1", "PollingBackoffRate": "1", "PollingMaxIntervalSeconds": "0.1"}
NEW_PLAN = "plan-demo-2"
OTHER_PRODUCT = "pp-bbbbbbbbbbbbb"


def test_same_plan_executes_nothing_and_reports_current_ids_and_outputs(stub: Stubber, answers: Answers) -> None:
    sc.describe_plan(stub, "EXECUTE_SUCCESS", changes=[sc.change("Bucket", "ADD")])
    sc.describe_product(stub, "AVAILABLE", last_successful="rec-current000001")
    sc.describe_record(stub, "SUCCEEDED", record_id="rec-current000001", outputs={"Name": "bucket-1"})
    invoke(
        make_event(
            "Update",
            {"PlanId": sc.PLAN_ID, "PollingIntervalSeconds": "2"},
            old_properties={"PlanId": sc.PLAN_ID},
            physical_id=sc.PRODUCT_ID,
        )
    )
    body = answers.only
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID
    assert body["Data"] == {
        "ProvisionedProductId": sc.PRODUCT_ID,
        "RecordId": "rec-current000001",
        "Changes.Add": "1",
        "Changes.Modify": "0",
        "Changes.Remove": "0",
        "Changes.Replace": "0",
        "OutputsLeftOut": "",
        "Outputs.Name": "bucket-1",
    }


def test_new_plan_for_the_same_product_keeps_the_physical_id(stub: Stubber, answers: Answers) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS", plan_id=NEW_PLAN)
    sc.execute_plan(stub, plan_id=NEW_PLAN, record_id="rec-update0000001")
    sc.describe_record(
        stub,
        "SUCCEEDED",
        record_id="rec-update0000001",
        outputs={"Name": "bucket-2"},
        record_type="UPDATE_PROVISIONED_PRODUCT",
    )
    sc.describe_product(stub, "AVAILABLE", last_record="rec-update0000001")
    invoke(
        make_event(
            "Update", {"PlanId": NEW_PLAN, **FAST}, old_properties={"PlanId": sc.PLAN_ID}, physical_id=sc.PRODUCT_ID
        )
    )
    body = answers.only
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID
    assert body["Data"]["RecordId"] == "rec-update0000001"
    assert body["Data"]["Outputs.Name"] == "bucket-2"


def test_new_plan_for_another_product_answers_its_id_so_cloudformation_replaces(
    stub: Stubber, answers: Answers
) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS", plan_id=NEW_PLAN, product_id=OTHER_PRODUCT)
    sc.execute_plan(stub, plan_id=NEW_PLAN, record_id="rec-other00000001")
    sc.describe_record(stub, "SUCCEEDED", record_id="rec-other00000001")
    sc.describe_product(stub, "AVAILABLE", product_id=OTHER_PRODUCT, last_record="rec-other00000001")
    invoke(make_event("Update", {"PlanId": NEW_PLAN}, old_properties={"PlanId": sc.PLAN_ID}, physical_id=sc.PRODUCT_ID))
    body = answers.only
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == OTHER_PRODUCT


def test_failed_update_keeps_the_product_in_place_and_its_rollback_succeeds(stub: Stubber, answers: Answers) -> None:
    # The update's record fails; Service Catalog rolls the product back (TAINTED).
    sc.describe_plan(stub, "CREATE_SUCCESS", plan_id=NEW_PLAN)
    sc.execute_plan(stub, plan_id=NEW_PLAN, record_id="rec-update0000001")
    sc.describe_record(stub, "FAILED", record_id="rec-update0000001", errors=[("UPDATE_FAILED", "boom")])
    update = make_event(
        "Update", {"PlanId": NEW_PLAN, **FAST}, old_properties={"PlanId": sc.PLAN_ID}, physical_id=sc.PRODUCT_ID
    )
    invoke(update)
    failed = answers.bodies[-1]
    assert failed["Status"] == "FAILED"
    assert failed["PhysicalResourceId"] == sc.PRODUCT_ID
    assert "UPDATE_FAILED: boom" in failed["Reason"]

    # CloudFormation's rollback Update carries the old plan, which already ran. Service Catalog
    # already rolled the product back (TAINTED, last success = the old plan's own execution):
    # nothing is re-applied, the product is reported.
    executed = datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)
    sc.describe_plan(stub, "EXECUTE_SUCCESS", updated_time=executed)
    sc.describe_product(stub, "TAINTED", last_successful=sc.RECORD_ID, last_record="rec-update0000001")
    sc.describe_record(stub, "SUCCEEDED", created_time=executed - timedelta(seconds=4))
    sc.describe_product(stub, "TAINTED", last_successful=sc.RECORD_ID, last_record="rec-update0000001")
    sc.describe_record(stub, "SUCCEEDED", outputs={"Name": "bucket-1"})
    invoke(make_event("Update", {"PlanId": sc.PLAN_ID}, old_properties={"PlanId": NEW_PLAN}, physical_id=sc.PRODUCT_ID))
    rollback = answers.bodies[-1]
    assert rollback["Status"] == "SUCCESS"
    assert rollback["PhysicalResourceId"] == sc.PRODUCT_ID
    assert rollback["Data"]["Outputs.Name"] == "bucket-1"


def test_failed_replacement_terminates_the_new_product_and_answers_the_old_id(stub: Stubber, answers: Answers) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS", plan_id=NEW_PLAN, product_id=OTHER_PRODUCT)
    sc.execute_plan(stub, plan_id=NEW_PLAN, record_id="rec-other00000001")
    sc.describe_record(stub, "FAILED", record_id="rec-other00000001", errors=[("CREATE_FAILED", "nope")])
    sc.describe_product(stub, "ERROR", product_id=OTHER_PRODUCT, last_record="rec-other00000001")
    sc.terminate(stub, product_id=OTHER_PRODUCT)
    sc.describe_record(stub, "SUCCEEDED", record_id="rec-terminate00001", record_type="TERMINATE_PROVISIONED_PRODUCT")
    invoke(
        make_event(
            "Update", {"PlanId": NEW_PLAN, **FAST}, old_properties={"PlanId": sc.PLAN_ID}, physical_id=sc.PRODUCT_ID
        )
    )
    body = answers.only
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID
    assert "CREATE_FAILED: nope" in body["Reason"]


def test_invalid_new_properties_fail_the_update_and_keep_the_id(stub: Stubber, answers: Answers) -> None:
    invoke(make_event("Update", {"PlanId": "bad id"}, old_properties={"PlanId": sc.PLAN_ID}, physical_id=sc.PRODUCT_ID))
    body = answers.only
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID
    assert "PlanId 'bad id' is not a plan id" in body["Reason"]


def test_rollback_after_a_successful_update_re_applies_the_old_plan(stub: Stubber, answers: Answers) -> None:
    # The new plan succeeded (the product runs it), then another resource failed: the rollback
    # Update puts the product back on the old plan with UpdateProvisionedProduct, ungated.
    executed = datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)
    removal = [sc.change("Queue", "REMOVE")]  # the gate would refuse this for a new plan
    sc.describe_plan(stub, "EXECUTE_SUCCESS", updated_time=executed, changes=removal)
    sc.describe_product(stub, "AVAILABLE", last_successful="rec-update0000001", last_record="rec-update0000001")
    sc.describe_record(stub, "SUCCEEDED", record_id="rec-update0000001", created_time=executed + timedelta(minutes=5))
    sc.update_product(stub, record_id="rec-restore000001")
    sc.describe_record(stub, "SUCCEEDED", record_id="rec-restore000001", outputs={"Name": "bucket-1"})
    sc.describe_product(stub, "AVAILABLE", last_successful="rec-restore000001", last_record="rec-restore000001")
    invoke(
        make_event(
            "Update", {"PlanId": sc.PLAN_ID, **FAST}, old_properties={"PlanId": NEW_PLAN}, physical_id=sc.PRODUCT_ID
        )
    )
    body = answers.only
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"]["RecordId"] == "rec-restore000001"
    assert body["Data"]["Changes.Remove"] == "1"


def test_new_plan_that_removes_a_resource_is_refused_before_executing(stub: Stubber, answers: Answers) -> None:
    sc.describe_plan(stub, "CREATE_SUCCESS", plan_id=NEW_PLAN, changes=[sc.change("Queue", "REMOVE")])
    invoke(
        make_event(
            "Update", {"PlanId": NEW_PLAN, **FAST}, old_properties={"PlanId": sc.PLAN_ID}, physical_id=sc.PRODUCT_ID
        )
    )
    body = answers.only
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID
    assert "Queue (AWS::S3::Bucket) would be removed" in body["Reason"]
    assert 'set AllowRemoval: "true"' in body["Reason"]


@pytest.mark.parametrize("stack_status", ["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"])
def test_an_unknown_property_fails_a_forward_update_but_not_its_rollback(
    stub: Stubber, answers: Answers, monkeypatch: pytest.MonkeyPatch, stack_status: str
) -> None:
    """A rollback carries back the properties the stack had (one deployed before unknown properties
    were refused may carry a typo): refusing them would leave the stack UPDATE_ROLLBACK_FAILED."""
    cloudformation = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stacks = Stubber(cloudformation)
    event = make_event(
        "Update",
        {"PlanId": sc.PLAN_ID, "PolingIntervalSeconds": "2"},
        old_properties={"PlanId": sc.PLAN_ID},
        physical_id=sc.PRODUCT_ID,
    )
    stacks.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "s",
                    "StackId": event["StackId"],
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "StackStatus": stack_status,
                }
            ]
        },
        {"StackName": event["StackId"]},
    )
    monkeypatch.setattr(handler, "cloudformation_client", lambda: cloudformation)
    if stack_status == "UPDATE_ROLLBACK_IN_PROGRESS":
        sc.describe_plan(stub, "EXECUTE_SUCCESS", changes=[sc.change("Bucket", "ADD")])
        sc.describe_product(stub, "AVAILABLE", last_successful="rec-current000001")
        sc.describe_record(stub, "SUCCEEDED", record_id="rec-current000001", outputs={"Name": "bucket-1"})
    with stacks:
        invoke(event)
    stacks.assert_no_pending_responses()
    body = answers.only
    if stack_status == "UPDATE_ROLLBACK_IN_PROGRESS":
        assert body["Status"] == "SUCCESS", body["Reason"]
    else:
        assert body["Status"] == "FAILED"
        assert "Unknown property PolingIntervalSeconds (did you mean PollingIntervalSeconds?)" in body["Reason"]
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID
