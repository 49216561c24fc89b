"""One request of a kind in a fresh interpreter, then the function's modules it loaded, as JSON.

`python tests/architecture/scenarios.py plan_create|spec_create|delete`: the real entry point
with the deployment's wiring (both records in DynamoDB tables, here moto's in-process mock), the
Service Catalog and CloudFormation clients stubbed with botocore's Stubber (CloudFormation shows the
request in progress) and the answer's PUT recorded. Run by
test_cold_start_modules.py; nothing else is imported before the request, so what is listed is
what that request made the function load.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Test",
        "OWNERS_TABLE_NAME": "owners",
        "REQUESTS_TABLE_NAME": "requests",
    }
)

import boto3  # noqa: E402 - the environment above first
from botocore.stub import ANY, Stubber  # noqa: E402
from moto import mock_aws  # noqa: E402

from support import sc_stubs as sc  # noqa: E402
from support.cfn_requests import FakeContext, make_event  # noqa: E402

SPEC = {
    "ProductId": sc.CATALOG_PRODUCT_ID,
    "ProvisioningArtifactId": sc.ARTIFACT_ID,
    "ProvisionedProductName": "bucket-pp",
}


def plan_create(stub: Stubber) -> dict[str, Any]:
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    sc.describe_record(stub, "SUCCEEDED", outputs={"BucketName": "b"})
    sc.describe_product(stub, "AVAILABLE")
    return make_event("Create", {"PlanId": sc.PLAN_ID})


def spec_create(stub: Stubber) -> dict[str, Any]:
    sc.not_found(stub, "describe_provisioned_product")  # a new name
    stub.add_response(
        "create_provisioned_product_plan",
        {"PlanId": sc.PLAN_ID, "ProvisionProductId": sc.PRODUCT_ID},
        {
            "PlanName": ANY,
            "PlanType": "CLOUDFORMATION",
            "ProductId": sc.CATALOG_PRODUCT_ID,
            "ProvisioningArtifactId": sc.ARTIFACT_ID,
            "ProvisionedProductName": "bucket-pp",
            "ProvisioningParameters": [],
            "IdempotencyToken": ANY,
        },
    )
    sc.describe_plan(stub, "CREATE_SUCCESS")
    sc.execute_plan(stub)
    sc.describe_record(stub, "SUCCEEDED", outputs={"BucketName": "b"})
    sc.describe_product(stub, "AVAILABLE")
    stub.add_response("delete_provisioned_product_plan", {}, {"PlanId": sc.PLAN_ID, "IgnoreErrors": True})
    return make_event("Create", SPEC)


def delete(stub: Stubber) -> dict[str, Any]:
    sc.describe_product(stub, "AVAILABLE")
    sc.terminate(stub)
    sc.describe_record(stub, "SUCCEEDED", record_id="rec-terminate00001", record_type="TERMINATE_PROVISIONED_PRODUCT")
    return make_event("Delete", {"PlanId": sc.PLAN_ID}, physical_id=sc.PRODUCT_ID)


def in_progress(event: dict[str, Any]) -> dict[str, Any]:
    """DescribeStackResource while CloudFormation waits for the event's request."""
    status = {"Create": "CREATE_IN_PROGRESS", "Update": "UPDATE_IN_PROGRESS", "Delete": "DELETE_IN_PROGRESS"}
    detail: dict[str, Any] = {
        "StackName": "stack",
        "StackId": event["StackId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "ResourceType": event["ResourceType"],
        "LastUpdatedTimestamp": "2026-12-07T00:00:00Z",
        "ResourceStatus": status[event["RequestType"]],
    }
    if event.get("PhysicalResourceId"):
        detail["PhysicalResourceId"] = event["PhysicalResourceId"]
    return {"StackResourceDetail": detail}


SCENARIOS = {"plan_create": plan_create, "spec_create": spec_create, "delete": delete}


def main(name: str) -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        for table, key in (("owners", "ProvisionedProductId"), ("requests", "RequestKey")):
            dynamodb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        client = boto3.client("servicecatalog")
        stub = Stubber(client)
        event = SCENARIOS[name](stub)
        answers: list[dict[str, Any]] = []

        cloudformation = boto3.client("cloudformation")
        confirming = Stubber(cloudformation)
        confirming.add_response("describe_stack_resource", in_progress(event))

        from sc_plan_provider import handler  # the request's first import of the function
        from sc_plan_provider.runtime import protocol
        from sc_plan_provider.servicecatalog.calls import ServiceCatalog

        def record(url: str, body: bytes, *, give_up_at: float, **_: object) -> int:
            answers.append(json.loads(body))
            return 1

        protocol.put_response = record  # type: ignore[assignment]
        handler._service_catalog = lambda language: ServiceCatalog(client, language)  # type: ignore[assignment]
        handler.cloudformation_client = lambda: cloudformation  # type: ignore[assignment]
        with stub, confirming:
            handler.lambda_handler(event, FakeContext())
        confirming.assert_no_pending_responses()  # the request was confirmed with CloudFormation
        loaded = sorted(module for module in sys.modules if module.startswith("sc_plan_provider"))
        print(
            "RESULT "
            + json.dumps({"answers": [a["Status"] for a in answers], "reason": answers[0]["Reason"], "modules": loaded})
        )


if __name__ == "__main__":
    main(sys.argv[1])
