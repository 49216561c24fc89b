"""Delete: terminate and wait; gone is success; a marker id makes no call."""

from __future__ import annotations

import time

import pytest
from botocore.stub import Stubber

from support import sc_stubs as sc
from support.cfn_requests import Answers, invoke, make_event

FAST = {"PollingIntervalSeconds": "0.1", "PollingBackoffRate": "1", "PollingMaxIntervalSeconds": "0.1"}


def delete_event(physical_id: str = sc.PRODUCT_ID, **properties: str) -> dict[str, object]:
    return make_event("Delete", {"PlanId": sc.PLAN_ID, **FAST, **properties}, physical_id=physical_id)


def test_delete_terminates_and_waits_for_the_terminate_record(stub: Stubber, answers: Answers) -> None:
    sc.describe_product(stub, "AVAILABLE")
    sc.terminate(stub)
    sc.describe_record(stub, "IN_PROGRESS", record_id="rec-terminate00001")
    sc.describe_record(stub, "SUCCEEDED", record_id="rec-terminate00001")
    invoke(delete_event())
    body = answers.only
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID


def test_delete_of_a_product_already_gone_succeeds(stub: Stubber, answers: Answers) -> None:
    # Gone only when reads two seconds apart all miss it (eventual consistency): four reads in all.
    for _ in range(4):
        sc.not_found(stub, "describe_provisioned_product")
    started = time.monotonic()
    invoke(delete_event())
    assert answers.only["Status"] == "SUCCESS"
    assert time.monotonic() - started >= 4


def test_a_product_missed_by_one_read_is_still_terminated(stub: Stubber, answers: Answers) -> None:
    sc.not_found(stub, "describe_provisioned_product")
    sc.describe_product(stub, "AVAILABLE")  # the second read finds it: it was never gone
    sc.describe_product(stub, "AVAILABLE")
    sc.terminate(stub)
    sc.describe_record(stub, "SUCCEEDED", record_id="rec-terminate00001")
    invoke(delete_event())
    assert answers.only["Status"] == "SUCCESS"


def test_a_terminate_record_not_visible_yet_is_not_a_gone_product(stub: Stubber, answers: Answers) -> None:
    sc.describe_product(stub, "AVAILABLE")
    sc.terminate(stub)
    sc.not_found(stub, "describe_record")  # just created: not visible for a moment
    sc.describe_record(stub, "IN_PROGRESS", record_id="rec-terminate00001")
    sc.describe_record(stub, "SUCCEEDED", record_id="rec-terminate00001")
    invoke(delete_event())
    assert answers.only["Status"] == "SUCCESS"


def test_delete_when_terminate_finds_nothing_and_reads_agree_succeeds(stub: Stubber, answers: Answers) -> None:
    sc.describe_product(stub, "AVAILABLE")
    sc.not_found(stub, "terminate_provisioned_product")
    for _ in range(3):  # reads apart that all find no product: really gone
        sc.not_found(stub, "describe_provisioned_product")
    invoke(delete_event())
    assert answers.only["Status"] == "SUCCESS"


def test_a_terminate_answered_not_found_for_a_product_still_there_is_tried_again(
    stub: Stubber, answers: Answers
) -> None:
    """Eventual consistency: the product read as there a moment ago is not taken for gone."""
    sc.describe_product(stub, "AVAILABLE")
    sc.not_found(stub, "terminate_provisioned_product")
    sc.describe_product(stub, "AVAILABLE")  # the check finds it
    sc.describe_product(stub, "AVAILABLE")  # the next round
    sc.terminate(stub)
    sc.describe_record(stub, "SUCCEEDED", record_id="rec-terminate00001")
    invoke(delete_event())
    assert answers.only["Status"] == "SUCCESS"
    stub.assert_no_pending_responses()


def test_delete_of_a_marker_id_makes_no_call(stub: Stubber, answers: Answers) -> None:
    invoke(delete_event("not-provisioned-Bucket-1234abcd"))
    body = answers.only
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == "not-provisioned-Bucket-1234abcd"


def test_delete_with_properties_that_no_longer_validate_still_deletes(stub: Stubber, answers: Answers) -> None:
    sc.describe_product(stub, "AVAILABLE")
    sc.terminate(stub)
    sc.describe_record(stub, "SUCCEEDED", record_id="rec-terminate00001")
    properties = {"PlanId": "bad id", "AcceptLanguage": "xx", "ServiceTimeout": "forever", "DeadlineSeconds": "-1"}
    invoke(make_event("Delete", properties, physical_id=sc.PRODUCT_ID))
    assert answers.only["Status"] == "SUCCESS"


def test_delete_waits_for_a_running_record_before_terminating(stub: Stubber, answers: Answers) -> None:
    sc.describe_product(stub, "UNDER_CHANGE", last_record=sc.RECORD_ID)
    sc.describe_record(stub, "IN_PROGRESS")
    sc.describe_record(stub, "SUCCEEDED")
    sc.terminate(stub)
    sc.describe_record(stub, "SUCCEEDED", record_id="rec-terminate00001")
    invoke(delete_event())
    assert answers.only["Status"] == "SUCCESS"


def test_failed_terminate_fails_the_delete_with_its_errors(stub: Stubber, answers: Answers) -> None:
    sc.describe_product(stub, "AVAILABLE")
    sc.terminate(stub)
    sc.describe_record(stub, "FAILED", record_id="rec-terminate00001", errors=[("DELETE_FAILED", "bucket not empty")])
    invoke(delete_event())
    body = answers.only
    assert body["Status"] == "FAILED"
    assert "DELETE_FAILED: bucket not empty" in body["Reason"]
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID


@pytest.mark.parametrize(
    ("properties", "options"),
    [
        ({"RetainPhysicalResources": "true"}, {"RetainPhysicalResources": True}),
        ({"TerminateIgnoreErrors": "TRUE"}, {"IgnoreErrors": True}),
        (
            {"RetainPhysicalResources": "true", "TerminateIgnoreErrors": "true"},
            {"RetainPhysicalResources": True, "IgnoreErrors": True},
        ),
        ({"RetainPhysicalResources": "false", "TerminateIgnoreErrors": "false"}, {}),
        # A Delete reads its properties leniently: the options still count next to a broken one.
        ({"RetainPhysicalResources": "true", "AcceptLanguage": "xx"}, {"RetainPhysicalResources": True}),
        ({"RetainPhysicalResources": "yes"}, {}),
    ],
    ids=["retain", "ignore-errors", "both", "off", "lenient", "unreadable"],
)
def test_delete_passes_the_delete_options_to_terminate(
    stub: Stubber, answers: Answers, properties: dict[str, str], options: dict[str, bool]
) -> None:
    sc.describe_product(stub, "AVAILABLE")
    sc.terminate(stub, **options)
    sc.describe_record(stub, "SUCCEEDED", record_id="rec-terminate00001")
    invoke(delete_event(**properties))
    assert answers.only["Status"] == "SUCCESS", answers.only["Reason"]


def test_failed_terminate_names_the_delete_options_that_would_let_it_go(stub: Stubber, answers: Answers) -> None:
    sc.describe_product(stub, "AVAILABLE")
    sc.terminate(stub)
    sc.describe_record(stub, "FAILED", record_id="rec-terminate00001", errors=[("DELETE_FAILED", "bucket not empty")])
    invoke(delete_event())
    assert (
        'TerminateIgnoreErrors or RetainPhysicalResources "true", deployed before the Delete' in answers.only["Reason"]
    )
