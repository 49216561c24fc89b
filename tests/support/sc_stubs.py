"""Service Catalog responses for the Stubber, shaped like botocore's model requires."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.stub import ANY, Stubber

PLAN_ID = "plan-demo-1"
PRODUCT_ID = "pp-aaaaaaaaaaaaa"
RECORD_ID = "rec-1111111111111"
CATALOG_PRODUCT_ID = "prod-aaaaaaaaaaaaa"
ARTIFACT_ID = "pa-aaaaaaaaaaaaa"


def describe_plan(
    stub: Stubber,
    status: str,
    *,
    plan_id: str = PLAN_ID,
    product_id: str = PRODUCT_ID,
    message: str = "",
    artifact_id: str = ARTIFACT_ID,
    updated_time: datetime | None = None,
    changes: list[dict[str, Any]] | None = None,
    next_token: str | None = None,
    page_token: str | None = None,
    parameters: list[dict[str, Any]] | None = None,
) -> None:
    details: dict[str, Any] = {
        "PlanId": plan_id,
        "Status": status,
        "ProvisionProductId": product_id,
        "ProductId": CATALOG_PRODUCT_ID,
        "ProvisioningArtifactId": artifact_id,
        "ProvisioningParameters": parameters or [],
    }
    if message:
        details["StatusMessage"] = message
    if updated_time:
        details["UpdatedTime"] = updated_time
    response: dict[str, Any] = {"ProvisionedProductPlanDetails": details, "ResourceChanges": changes or []}
    if next_token:
        response["NextPageToken"] = next_token
    params: dict[str, Any] = {"PlanId": plan_id, "PageSize": 20}
    if page_token:
        params["PageToken"] = page_token
    stub.add_response("describe_provisioned_product_plan", response, params)


def change(logical_id: str, action: str = "MODIFY", replacement: str = "FALSE") -> dict[str, Any]:
    """One ResourceChange as the model shapes it."""
    return {
        "Action": action,
        "LogicalResourceId": logical_id,
        "ResourceType": "AWS::S3::Bucket",
        "Replacement": replacement,
        "Scope": ["PROPERTIES"] if action == "MODIFY" else [],
        "Details": [],
    }


def update_product(
    stub: Stubber, *, product_id: str = PRODUCT_ID, record_id: str = "rec-restore000001", token: Any = ANY
) -> None:
    stub.add_response(
        "update_provisioned_product",
        {"RecordDetail": {"RecordId": record_id, "Status": "CREATED", "RecordType": "UPDATE_PROVISIONED_PRODUCT"}},
        {
            "ProvisionedProductId": product_id,
            "ProductId": CATALOG_PRODUCT_ID,
            "ProvisioningArtifactId": ARTIFACT_ID,
            "ProvisioningParameters": ANY,
            "UpdateToken": token,
        },
    )


def execute_plan(stub: Stubber, *, plan_id: str = PLAN_ID, record_id: str = RECORD_ID, token: Any = ANY) -> None:
    stub.add_response(
        "execute_provisioned_product_plan",
        {"RecordDetail": {"RecordId": record_id, "Status": "CREATED"}},
        {"PlanId": plan_id, "IdempotencyToken": token},
    )


def describe_record(
    stub: Stubber,
    status: str,
    *,
    record_id: str = RECORD_ID,
    outputs: dict[str, str] | None = None,
    next_token: str | None = None,
    page_token: str | None = None,
    errors: list[tuple[str, str]] | None = None,
    record_type: str = "PROVISION_PRODUCT",
    created_time: datetime | None = None,
) -> None:
    detail: dict[str, Any] = {
        "RecordId": record_id,
        "Status": status,
        "RecordType": record_type,
        "RecordErrors": [{"Code": c, "Description": d} for c, d in (errors or [])],
    }
    if created_time:
        detail["CreatedTime"] = created_time
    response: dict[str, Any] = {
        "RecordDetail": detail,
        "RecordOutputs": [{"OutputKey": k, "OutputValue": v} for k, v in (outputs or {}).items()],
    }
    if next_token:
        response["NextPageToken"] = next_token
    params: dict[str, Any] = {"Id": record_id, "PageSize": 20}
    if page_token:
        params["PageToken"] = page_token
    stub.add_response("describe_record", response, params)


def describe_product(
    stub: Stubber,
    status: str,
    *,
    product_id: str = PRODUCT_ID,
    last_record: str = RECORD_ID,
    last_successful: str = RECORD_ID,
    artifact_id: str = ARTIFACT_ID,
    by_name: str | None = None,
) -> None:
    detail: dict[str, Any] = {
        "Id": product_id,
        "Status": status,
        "LastRecordId": last_record,
        "ProvisioningArtifactId": artifact_id,
    }
    if last_successful:
        detail["LastSuccessfulProvisioningRecordId"] = last_successful
    if by_name:
        detail["Name"] = by_name
    stub.add_response(
        "describe_provisioned_product",
        {"ProvisionedProductDetail": detail},
        {"Name": by_name} if by_name else {"Id": product_id},
    )


def list_plans(stub: Stubber, plans: list[tuple[str, str]] | None = None, *, product_id: str = PRODUCT_ID) -> None:
    """ListProvisionedProductPlans of a product: (plan id, plan name) pairs, one page."""
    stub.add_response(
        "list_provisioned_product_plans",
        {
            "ProvisionedProductPlans": [
                {"PlanId": plan_id, "PlanName": name, "ProvisionProductId": product_id}
                for plan_id, name in (plans or [])
            ]
        },
        {"ProvisionProductId": product_id, "PageSize": 20},
    )


def not_found(stub: Stubber, method: str) -> None:
    stub.add_client_error(
        method, service_error_code="ResourceNotFoundException", service_message="not found", http_status_code=400
    )


def invalid_state(stub: Stubber, method: str) -> None:
    stub.add_client_error(
        method, service_error_code="InvalidStateException", service_message="plan not ready", http_status_code=400
    )


def terminate(
    stub: Stubber, *, product_id: str = PRODUCT_ID, record_id: str = "rec-terminate00001", **options: bool
) -> None:
    """TerminateProvisionedProduct, expecting exactly these options (RetainPhysicalResources, IgnoreErrors)."""
    stub.add_response(
        "terminate_provisioned_product",
        {"RecordDetail": {"RecordId": record_id, "Status": "CREATED", "RecordType": "TERMINATE_PROVISIONED_PRODUCT"}},
        {"ProvisionedProductId": product_id, "TerminateToken": ANY, **options},
    )


def describe_catalog_product(
    stub: Stubber,
    *,
    name: str = "Bucket",
    by_name: bool = True,
    artifacts: list[tuple[str, str, str]] | None = None,
    paths: list[tuple[str, str]] | None = None,
) -> None:
    """DescribeProduct of CATALOG_PRODUCT_ID: (id, name, guidance) versions and (id, portfolio name) paths."""
    stub.add_response(
        "describe_product",
        {
            "ProductViewSummary": {"Id": "prodview-aaaaaaaaaaaa", "ProductId": CATALOG_PRODUCT_ID, "Name": name},
            "ProvisioningArtifacts": [
                {"Id": i, "Name": n, "Guidance": g} for i, n, g in (artifacts or [(ARTIFACT_ID, "v1", "DEFAULT")])
            ],
            "LaunchPaths": [{"Id": i, "Name": n} for i, n in (paths or [("lpv3-aaaaaaaaaaaa", "Portfolio")])],
        },
        {"Name": name} if by_name else {"Id": CATALOG_PRODUCT_ID},
    )
