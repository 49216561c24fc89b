"""The scheduled drift check as the handler runs it (`{"DriftCheck": true}`), Service Catalog stubbed:
the verdict rules the end-to-end test does not reach (a parameter declared UsePreviousValue, a
NoEcho value in five asterisks, a product under someone else's change, another version), and the
`Drifted` EMF document per resource."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.stub import Stubber

from sc_plan_provider import handler
from sc_plan_provider.records.owners import AppliedPlan, Owner
from sc_plan_provider.servicecatalog import product_stack
from sc_plan_provider.servicecatalog.shapes import ProductVersion, ProvisioningParameter
from support.cfn_requests import FakeContext

STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/Orders/0f7a1b2c-0000-0000-0000-000000000000"
NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def declare(product_id: str, logical_id: str, artifact: str, record: str, **parameters: str | None) -> None:
    """What the provider recorded when it executed a plan for the product (in-process records)."""
    owners = handler.default_registry()
    owner = Owner(STACK, logical_id)
    owners.claim(product_id, owner, "request")
    version = ProductVersion(
        "prod-1",
        artifact,
        "lpv-1",
        tuple(ProvisioningParameter(k, v, use_previous_value=v is None) for k, v in parameters.items()),
    )
    owners.intend_to_execute(AppliedPlan(f"plan-{logical_id}", product_id, version, owner, "request"))
    owners.executed(f"plan-{logical_id}", "request", record, 1.0)


def product(stub: Stubber, product_id: str, *, status: str, artifact: str, last: str, success: str) -> None:
    detail = {
        "Id": product_id,
        "Status": status,
        "ProvisioningArtifactId": artifact,
        "LastRecordId": last,
        "LastProvisioningRecordId": last,
        "LastSuccessfulProvisioningRecordId": success,
    }
    stub.add_response("describe_provisioned_product", {"ProvisionedProductDetail": detail}, {"Id": product_id})
    outputs = [{"OutputKey": "CloudformationStackARN", "OutputValue": f"arn:stack/SC-123456789012-{product_id}/1"}]
    record = {
        "RecordId": success,
        "Status": "SUCCEEDED",
        "CreatedTime": NOW,
        "RecordType": "UPDATE_PROVISIONED_PRODUCT",
    }
    stub.add_response("describe_record", {"RecordDetail": record, "RecordOutputs": outputs}, None)


def test_verdicts_and_one_drifted_metric_per_resource(
    stub: Stubber, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    declare("pp-a", "InSync", "pa-1", "rec-a", Size="small", Password=None)
    declare("pp-b", "UnderChange", "pa-1", "rec-b", Size="small")
    declare("pp-c", "OtherVersion", "pa-1", "rec-c", Size="small")
    product(stub, "pp-a", status="AVAILABLE", artifact="pa-1", last="rec-a", success="rec-a")
    product(stub, "pp-b", status="UNDER_CHANGE", artifact="pa-1", last="rec-console", success="rec-b")
    product(stub, "pp-c", status="AVAILABLE", artifact="pa-2", last="rec-c", success="rec-c")
    stacks = {
        "arn:stack/SC-123456789012-pp-a/1": {"Size": "small", "Password": "*****"},
        "arn:stack/SC-123456789012-pp-b/1": {"Size": "small"},
        "arn:stack/SC-123456789012-pp-c/1": {"Size": "small"},
    }
    monkeypatch.setattr(product_stack, "stack_parameters", lambda _client, arn: stacks[arn])
    capsys.readouterr()

    handler.lambda_handler({"DriftCheck": True}, FakeContext(timeout_seconds=60))

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    verdicts = {r.logical_resource_id: r for r in caplog.records if r.getMessage() == "Drift verdict"}
    assert {k: (v.verdict, v.reasons) for k, v in verdicts.items()} == {
        "InSync": ("IN_SYNC", []),
        "UnderChange": ("MODIFIED", ["its last provisioning record rec-console was not made by the provider"]),
        "OtherVersion": ("MODIFIED", ["version pa-2 instead of pa-1"]),
    }
    drifted: dict[str, Any] = {
        line["LogicalResourceId"]: line["Drifted"] for line in lines if "_aws" in line and "Drifted" in line
    }
    assert drifted == {"InSync": [0.0], "UnderChange": [1.0], "OtherVersion": [1.0]}
    (document,) = [line for line in lines if line.get("LogicalResourceId") == "InSync" and "_aws" in line]
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["service", "StackName", "LogicalResourceId"]]
    assert document["StackName"] == "Orders"
    assert not [r for r in caplog.records if r.getMessage() == "Request received"]  # no request was handled
