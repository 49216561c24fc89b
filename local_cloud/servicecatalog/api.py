"""Operation dispatch: from (operation name, JSON params) to a JSON response or a ServiceCatalogError.

This is the wire-independent half of the server: it records calls, injects throttling and
failures, validates input against botocore's model (answering as the state's rules say), calls the
state machine and renders entities in the model's shapes.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import botocore.session
from botocore.model import OperationModel, ServiceModel

from local_cloud.servicecatalog.errors import (
    AccessDeniedException,
    InvalidParametersException,
    ResourceNotFoundException,
    ServiceCatalogError,
    ThrottlingException,
    UnknownOperationException,
)
from local_cloud.servicecatalog.model import Artifact, Plan, Product, ProvisionedProduct, Record
from local_cloud.servicecatalog.state import ServiceCatalogState
from local_cloud.servicecatalog.validation import validate_input

DEFAULT_PAGE_SIZE = 20  # AWS does not document a default; 20 is the model's maximum PageSize.
_T = TypeVar("_T")
Json = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One request the emulator received: operation, the JSON params, and how it was answered."""

    operation: str
    params: dict[str, Any]
    throttled: bool = False
    error_code: str | None = None
    received_at: float = 0.0  # the emulator's clock (epoch seconds), as in record timelines


def load_service_model() -> ServiceModel:
    """botocore's servicecatalog model: the source of shapes, constraints and operation names."""
    return botocore.session.get_session().get_service_model("servicecatalog")


class ServiceCatalogApi:
    """Answers Service Catalog operations against a ServiceCatalogState; thread-safe."""

    def __init__(self, state: ServiceCatalogState, service_model: ServiceModel | None = None) -> None:
        self.state = state
        self.service_model = service_model or load_service_model()
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._throttle_every = 0
        self._throttle_operations: frozenset[str] | None = None
        self._throttle_counter = 0
        self._failures: dict[str, tuple[ServiceCatalogError, int | None]] = {}  # error, calls left (None: all)
        self._handlers: dict[str, Callable[[Json], Json]] = {
            "CreateProvisionedProductPlan": self._create_plan,
            "DescribeProvisionedProductPlan": self._describe_plan,
            "ExecuteProvisionedProductPlan": self._execute_plan,
            "DeleteProvisionedProductPlan": self._delete_plan,
            "ListProvisionedProductPlans": self._list_plans,
            "DescribeRecord": self._describe_record,
            "DescribeProvisionedProduct": self._describe_provisioned_product,
            "TerminateProvisionedProduct": self._terminate,
            "UpdateProvisionedProduct": self._update,
            "ListRecordHistory": self._list_record_history,
            "DescribeProduct": self._describe_product,
            "DescribeProvisioningParameters": self._describe_provisioning_parameters,
        }

    # ----------------------------------------------------------------- calls and fault injection

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call received so far, in arrival order."""
        with self._lock:
            return list(self._calls)

    def clear_calls(self) -> None:
        """Forget the calls received so far."""
        with self._lock:
            self._calls.clear()

    def inject_throttling(self, every: int, operations: Iterable[str] | None = None) -> None:
        """Answer every ``every``-th call (of ``operations`` if given) with ThrottlingException; 0 stops."""
        if every < 0:
            raise ValueError("every must be >= 0")
        with self._lock:
            self._throttle_every = every
            self._throttle_operations = frozenset(operations) if operations is not None else None
            self._throttle_counter = 0

    def inject_failure(self, operation: str, error: ServiceCatalogError | None, *, times: int | None = None) -> None:
        """Answer the next ``times`` calls of ``operation`` (every call if None) with ``error``; None stops.

        A 4xx error is not retried by botocore.
        """
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 (or None for every call)")
        with self._lock:
            if error is None:
                self._failures.pop(operation, None)
            else:
                self._failures[operation] = (error, times)

    def inject_not_found(self, operation: str, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``operation`` with ResourceNotFoundException, as a
        replica that has not caught up would (one-off; the rules' read counts are per object)."""
        self.inject_failure(
            operation,
            ResourceNotFoundException(f"Resource not found (injected by the emulator for {operation})."),
            times=times,
        )

    def _injected(self, operation: str) -> ServiceCatalogError | None:
        with self._lock:
            found = self._failures.get(operation)
            if found is None:
                return None
            error, left = found
            if left is not None:
                if left <= 1:
                    del self._failures[operation]
                else:
                    self._failures[operation] = (error, left - 1)
            return error

    def deny(self, operations: Iterable[str]) -> None:
        """Answer these operations with AccessDeniedException, as for a role without the action."""
        for operation in operations:
            self.inject_failure(
                operation,
                AccessDeniedException(
                    f"User is not authorized to perform: servicecatalog:{operation} (injected by the emulator)"
                ),
            )

    def _should_throttle(self, operation: str) -> bool:
        with self._lock:
            if not self._throttle_every:
                return False
            if self._throttle_operations is not None and operation not in self._throttle_operations:
                return False
            self._throttle_counter += 1
            return self._throttle_counter % self._throttle_every == 0

    # ----------------------------------------------------------------- dispatch

    def operation_model(self, operation: str) -> OperationModel | None:
        """The botocore model of ``operation`` if the emulator serves it."""
        if operation not in self._handlers:
            return None
        return self.service_model.operation_model(operation)

    def handle(self, operation: str, params: Json) -> Json:
        """Answer one call; raises ServiceCatalogError for anything the caller gets as an error."""
        received_at = self.state.clock()
        throttled = self._should_throttle(operation)
        error_code: str | None = None
        try:
            if throttled:
                raise ThrottlingException("Rate exceeded")
            injected = self._injected(operation)
            if injected is not None:
                raise injected
            handler = self._handlers.get(operation)
            if handler is None:
                raise UnknownOperationException(f"Operation {operation!r} is not supported by the emulator.")
            validate_input(self.service_model.operation_model(operation), params, self.state.rules)
            return handler(params)
        except ServiceCatalogError as error:
            error_code = error.code
            raise
        finally:
            with self._lock:
                self._calls.append(Call(operation, copy.deepcopy(params), throttled, error_code, received_at))

    # ----------------------------------------------------------------- operations

    def _create_plan(self, params: Json) -> Json:
        plan = self.state.create_plan(
            plan_name=params["PlanName"],
            plan_type=params["PlanType"],
            product_id=params["ProductId"],
            provisioning_artifact_id=params["ProvisioningArtifactId"],
            provisioned_product_name=params["ProvisionedProductName"],
            idempotency_token=params["IdempotencyToken"],
            path_id=params.get("PathId"),
            parameters=params.get("ProvisioningParameters", []),
            tags=params.get("Tags", []),
            notification_arns=params.get("NotificationArns", []),
        )
        return {
            "PlanName": plan.name,
            "PlanId": plan.id,
            "ProvisionProductId": plan.provisioned_product_id,
            "ProvisionedProductName": plan.provisioned_product_name,
            "ProvisioningArtifactId": plan.provisioning_artifact_id,
        }

    def _describe_plan(self, params: Json) -> Json:
        plan = self.state.describe_plan(params["PlanId"])
        ready = plan.status not in ("CREATE_IN_PROGRESS", "CREATE_FAILED")
        changes, next_token = paginate(plan.resource_changes if ready else [], params)
        response: Json = {"ProvisionedProductPlanDetails": plan_details(plan), "ResourceChanges": changes}
        if next_token:
            response["NextPageToken"] = next_token
        return response

    def _execute_plan(self, params: Json) -> Json:
        record = self.state.execute_plan(params["PlanId"], params["IdempotencyToken"])
        return {"RecordDetail": record_detail(record)}

    def _delete_plan(self, params: Json) -> Json:
        self.state.delete_plan(params["PlanId"], ignore_errors=bool(params.get("IgnoreErrors", False)))
        return {}

    def _list_plans(self, params: Json) -> Json:
        access = params.get("AccessLevelFilter") or {}
        plans = self.state.list_plans(
            params.get("ProvisionProductId"), access_key=access.get("Key"), access_value=access.get("Value")
        )
        page, next_token = paginate(plans, params)
        response: Json = {"ProvisionedProductPlans": [plan_summary(p) for p in page]}
        if next_token:
            response["NextPageToken"] = next_token
        return response

    def _describe_record(self, params: Json) -> Json:
        record = self.state.describe_record(params["Id"])
        outputs, next_token = paginate(record.outputs, params)
        response: Json = {"RecordDetail": record_detail(record), "RecordOutputs": outputs}
        if next_token:
            response["NextPageToken"] = next_token
        return response

    def _describe_provisioned_product(self, params: Json) -> Json:
        product = self.state.describe_provisioned_product(id_=params.get("Id"), name=params.get("Name"))
        return {"ProvisionedProductDetail": provisioned_product_detail(product), "CloudWatchDashboards": []}

    def _terminate(self, params: Json) -> Json:
        record = self.state.terminate(
            terminate_token=params["TerminateToken"],
            id_=params.get("ProvisionedProductId"),
            name=params.get("ProvisionedProductName"),
            ignore_errors=bool(params.get("IgnoreErrors", False)),
            retain_physical_resources=bool(params.get("RetainPhysicalResources", False)),
        )
        return {"RecordDetail": record_detail(record)}

    def _update(self, params: Json) -> Json:
        record = self.state.update_provisioned_product(
            update_token=params["UpdateToken"],
            id_=params.get("ProvisionedProductId"),
            name=params.get("ProvisionedProductName"),
            product_id=params.get("ProductId"),
            product_name=params.get("ProductName"),
            artifact_id=params.get("ProvisioningArtifactId"),
            artifact_name=params.get("ProvisioningArtifactName"),
            path_id=params.get("PathId"),
            path_name=params.get("PathName"),
            parameters=params.get("ProvisioningParameters", []),
            tags=params.get("Tags", []),
        )
        return {"RecordDetail": record_detail(record)}

    def _describe_product(self, params: Json) -> Json:
        product = self.state.describe_product(id_=params.get("Id"), name=params.get("Name"))
        return {
            "ProductViewSummary": product_view_summary(product),
            "ProvisioningArtifacts": [provisioning_artifact(a) for a in product.artifacts.values()],
            "Budgets": [],
            "LaunchPaths": [{"Id": path.id, "Name": path.name} for path in product.launch_paths],
        }

    def _describe_provisioning_parameters(self, params: Json) -> Json:
        artifact, constraints = self.state.describe_provisioning_parameters(
            product_id=params.get("ProductId"),
            product_name=params.get("ProductName"),
            artifact_id=params.get("ProvisioningArtifactId"),
            artifact_name=params.get("ProvisioningArtifactName"),
            path_id=params.get("PathId"),
            path_name=params.get("PathName"),
        )
        outputs = [
            {"Key": key, "Description": artifact.script.output_descriptions.get(key, "")}
            for key in artifact.script.outputs
        ]
        return {
            "ProvisioningArtifactParameters": [],  # the emulator has no templates, hence no parameters to declare
            "ConstraintSummaries": [{"Type": c.type, "Description": c.description} for c in constraints],
            "UsageInstructions": [],
            "TagOptions": [],
            "ProvisioningArtifactPreferences": {},
            "ProvisioningArtifactOutputs": outputs,
            "ProvisioningArtifactOutputKeys": outputs,
        }

    def _list_record_history(self, params: Json) -> Json:
        search = params.get("SearchFilter") or {}
        access = params.get("AccessLevelFilter") or {}
        records = self.state.record_history(
            search_key=search.get("Key"),
            search_value=search.get("Value"),
            access_key=access.get("Key"),
            access_value=access.get("Value"),
        )
        page, next_token = paginate(records, params)
        response: Json = {"RecordDetails": [record_detail(r) for r in page]}
        if next_token:
            response["NextPageToken"] = next_token
        return response


# --------------------------------------------------------------------- rendering and paging


def paginate(items: Sequence[_T], params: Json) -> tuple[list[_T], str | None]:
    """One page of ``items`` per the request's PageSize/PageToken, and the token of the next page."""
    size = params.get("PageSize") or DEFAULT_PAGE_SIZE
    token = params.get("PageToken")
    offset = 0
    if token:
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            raise InvalidParametersException("The page token is invalid.") from error
        if not 0 <= offset <= len(items):
            raise InvalidParametersException("The page token is invalid.")
    end = offset + size
    next_token = None
    if end < len(items):
        next_token = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode()
    return list(items[offset:end]), next_token


def _timestamp(seconds: float) -> float:
    return round(seconds, 3)


def _without_none(values: Json) -> Json:
    return {k: v for k, v in values.items() if v is not None}


def record_detail(record: Record) -> Json:
    """A Record as the model's RecordDetail shape."""
    return _without_none(
        {
            "RecordId": record.id,
            "ProvisionedProductName": record.provisioned_product_name,
            "Status": record.status,
            "CreatedTime": _timestamp(record.created_time),
            "UpdatedTime": _timestamp(record.updated_time),
            "ProvisionedProductType": "CFN_STACK",
            "RecordType": record.record_type,
            "ProvisionedProductId": record.provisioned_product_id,
            "ProductId": record.product_id,
            "ProvisioningArtifactId": record.provisioning_artifact_id,
            "PathId": record.path_id,
            "RecordErrors": [{"Code": e.code, "Description": e.description} for e in record.errors],
            "RecordTags": [dict(t) for t in record.tags],
        }
    )


def plan_details(plan: Plan) -> Json:
    """A Plan as the model's ProvisionedProductPlanDetails shape."""
    return _without_none(
        {
            "CreatedTime": _timestamp(plan.created_time),
            "PathId": plan.path_id,
            "ProductId": plan.product_id,
            **plan_summary(plan),  # the details shape repeats the summary's fields, in this place
            "Status": plan.status,
            "UpdatedTime": _timestamp(plan.updated_time),
            "NotificationArns": list(plan.notification_arns),
            "ProvisioningParameters": [dict(p) for p in plan.parameters],
            "Tags": [dict(t) for t in plan.tags],
            "StatusMessage": plan.status_message,
        }
    )


def plan_summary(plan: Plan) -> Json:
    """A Plan as the model's ProvisionedProductPlanSummary shape."""
    return {
        "PlanName": plan.name,
        "PlanId": plan.id,
        "ProvisionProductId": plan.provisioned_product_id,
        "ProvisionProductName": plan.provisioned_product_name,
        "PlanType": plan.plan_type,
        "ProvisioningArtifactId": plan.provisioning_artifact_id,
    }


def provisioned_product_detail(product: ProvisionedProduct) -> Json:
    """A ProvisionedProduct as the model's ProvisionedProductDetail shape."""
    return _without_none(
        {
            "Name": product.name,
            "Arn": product.arn,
            "Type": "CFN_STACK",
            "Id": product.id,
            "Status": product.status,
            "StatusMessage": product.status_message or None,
            "CreatedTime": _timestamp(product.created_time),
            "IdempotencyToken": product.idempotency_token,
            "LastRecordId": product.last_record_id,
            "LastProvisioningRecordId": product.last_provisioning_record_id,
            "LastSuccessfulProvisioningRecordId": product.last_successful_provisioning_record_id,
            "ProductId": product.product_id,
            "ProvisioningArtifactId": product.provisioning_artifact_id,
        }
    )


def product_view_summary(product: Product) -> Json:
    """A Product as the model's ProductViewSummary shape (HasDefaultPath: a single launch path)."""
    return {
        "Id": product.view_id,
        "ProductId": product.id,
        "Name": product.name,
        "Owner": "local-cloud",
        "Type": "CLOUD_FORMATION_TEMPLATE",
        "HasDefaultPath": len(product.launch_paths) == 1,
    }


def provisioning_artifact(artifact: Artifact) -> Json:
    """An Artifact as the model's ProvisioningArtifact shape."""
    return {
        "Id": artifact.id,
        "Name": artifact.name,
        "Description": "",
        "CreatedTime": _timestamp(artifact.created_time),
        "Guidance": artifact.guidance,
    }
