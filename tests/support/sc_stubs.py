"""Service Catalog responses for the Stubber, shaped like botocore's model requires."""

from __future__ import annotations

from typing import Any

from botocore.stub import ANY, Stubber

PLAN_ID = "plan-demo-1"
PRODUCT_ID = "pp-aaaaaaaaaaaaa"
RECORD_ID = "rec-1111111111111"


def describe_plan(
    stub: Stubber, status: str, *, plan_id: str = PLAN_ID, product_id: str = PRODUCT_ID, message: str = ""
) -> None:
    details: dict[str, Any] = {"PlanId": plan_id, "Status": status, "ProvisionProductId": product_id}
    if message:
        details["StatusMessage"] = message
    stub.add_response(
        "describe_provisioned_product_plan",
        {"ProvisionedProductPlanDetails": details, "ResourceChanges": []},
        {"PlanId": plan_id, "PageSize": 1},
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
) -> None:
    response: dict[str, Any] = {
        "RecordDetail": {
            "RecordId": record_id,
            "Status": status,
            "RecordType": record_type,
            "RecordErrors": [{"Code": c, "Description": d} for c, d in (errors or [])],
        },
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
) -> None:
    stub.add_response(
        "describe_provisioned_product",
        {
            "ProvisionedProductDetail": {
                "Id": product_id,
                "Status": status,
                "LastRecordId": last_record,
                "LastSuccessfulProvisioningRecordId": last_successful,
            }
        },
        {"Id": product_id},
    )


def not_found(stub: Stubber, method: str) -> None:
    stub.add_client_error(
        method, service_error_code="ResourceNotFoundException", service_message="not found", http_status_code=400
    )


def invalid_state(stub: Stubber, method: str) -> None:
    stub.add_client_error(
        method, service_error_code="InvalidStateException", service_message="plan not ready", http_status_code=400
    )


def terminate(stub: Stubber, *, product_id: str = PRODUCT_ID, record_id: str = "rec-terminate00001") -> None:
    stub.add_response(
        "terminate_provisioned_product",
        {"RecordDetail": {"RecordId": record_id, "Status": "CREATED", "RecordType": "TERMINATE_PROVISIONED_PRODUCT"}},
        {"ProvisionedProductId": product_id, "TerminateToken": ANY},
    )
