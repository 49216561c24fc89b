"""The outbound edge to Service Catalog: one traced method per call a plan-mode Create makes, and
the errors those calls raise, named.

Everything the function asks Service Catalog goes through `ServiceCatalog` (or, on the other paths,
its extension in planning.py), so tests swap only this edge (a Stubber on the client, or the local
emulator) and IAM lists exactly these calls. Answers become shapes.py's values; botocore's errors
become the named errors below (`translated_call`), so no step ever reads an error code, and the
not-found and transient ones derive from the waiting package's kinds, so a wait knows them
without knowing Service Catalog.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from sc_plan_provider.core.telemetry import tracer
from sc_plan_provider.servicecatalog.shapes import (
    PastRecord,
    Plan,
    ProvisionedProduct,
    ProvisioningParameter,
    Record,
    RecordError,
    ResourceChange,
)
from sc_plan_provider.waiting.waiter import MissingError, RetryableError

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_servicecatalog import ServiceCatalogClient
    from mypy_boto3_servicecatalog.type_defs import AccessLevelFilterTypeDef


T = TypeVar("T")

# botocore's standard retry mode treats these as throttling too.
THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
# Service-side failures (HTTP 5xx) that botocore retries before giving up.
SERVER_ERROR_CODES = frozenset({"InternalFailure", "InternalServerError", "ServiceUnavailable", "InternalError"})


class ServiceCatalogError(Exception):
    """Any error of a Service Catalog call; the message names the operation and AWS's code.

    `code` is AWS's error code (or the botocore exception's name for a call that got no answer).
    """

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class NotFoundError(ServiceCatalogError, MissingError):
    """ResourceNotFoundException: gone, never there, not visible yet (eventual consistency), or not
    visible to this role ("No launch paths found for resource")."""


class InvalidStateError(ServiceCatalogError):
    """InvalidStateException (e.g. a product still under change)."""


class TransientError(ServiceCatalogError, RetryableError):
    """Still failing after botocore's retries, but worth trying again later: throttling, a 5xx, a
    timeout or a dropped connection. A poll simply tries again at its next moment."""


class ThrottledError(TransientError):
    """Still throttled after botocore's retries."""


def translated_call(operation: str, send: Callable[[], T]) -> T:
    """Translate botocore's errors into this module's named errors (the message never holds a request)."""
    try:
        return send()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "Unknown")
        message = error.response.get("Error", {}).get("Message", "")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code == "ResourceNotFoundException":
            raise NotFoundError(message, code) from error
        if code == "InvalidStateException":
            raise InvalidStateError(message, code) from error
        if code in THROTTLING_CODES:
            raise ThrottledError(f"Service Catalog {operation} was throttled: {message}", code) from error
        if code in SERVER_ERROR_CODES or status >= 500:
            raise TransientError(f"Service Catalog {operation} failed: {code}: {message}", code) from error
        raise ServiceCatalogError(f"Service Catalog {operation} failed: {code}: {message}", code) from error
    except (BotocoreConnectionError, HTTPClientError) as error:
        # No answer at all (timeouts, dropped connections, after botocore's retries): try again later.
        raise TransientError(f"Service Catalog {operation} got no answer: {error}", type(error).__name__) from error


# DescribeRecord returns at most 20 outputs a page and has no paginator.
OUTPUTS_PAGE_SIZE = 20
# DescribeProvisionedProductPlan returns at most 20 resource changes a page and has no paginator.
CHANGES_PAGE_SIZE = 20
# ListRecordHistory returns at most 20 records a page; one page is enough history.
HISTORY_PAGE_SIZE = 20
# The records the provider's role created (any of its sessions): the level it has without grants.
HISTORY_ACCESS_LEVEL: AccessLevelFilterTypeDef = {"Key": "Role", "Value": "self"}

E = TypeVar("E", bound="ServiceCatalog")


class ServiceCatalog:
    """The Service Catalog calls the function (and the review command) make; spec mode's plan-making
    calls extend it (planning.py)."""

    def __init__(
        self,
        client: ServiceCatalogClient,
        accept_language: str | None = None,
        history_client: Callable[[], ServiceCatalogClient] | None = None,
    ) -> None:
        self._client = client
        self._accept_language = accept_language
        self._language: dict[str, Any] = {"AcceptLanguage": accept_language} if accept_language else {}
        self._history_client = history_client or (lambda: client)

    def extended(self, edge: type[E]) -> E:
        """The same edge (client, language, history client) with the calls of a subclass."""
        return self if isinstance(self, edge) else edge(self._client, self._accept_language, self._history_client)

    @tracer.capture_method(capture_response=False)
    def describe_plan(self, plan_id: str, page_token: str | None = None) -> Plan:
        paging: dict[str, Any] = {"PageToken": page_token} if page_token else {}
        response = translated_call(
            "DescribeProvisionedProductPlan",
            lambda: self._client.describe_provisioned_product_plan(
                PlanId=plan_id, PageSize=CHANGES_PAGE_SIZE, **paging, **self._language
            ),
        )
        details = response["ProvisionedProductPlanDetails"]
        return Plan(
            plan_id=plan_id,
            status=details.get("Status", ""),
            status_message=details.get("StatusMessage", ""),
            provisioned_product_id=details.get("ProvisionProductId", ""),
            product_id=details.get("ProductId", ""),
            provisioning_artifact_id=details.get("ProvisioningArtifactId", ""),
            path_id=details.get("PathId", ""),
            parameters=tuple(
                ProvisioningParameter(p.get("Key", ""), p.get("Value"), bool(p.get("UsePreviousValue", False)))
                for p in details.get("ProvisioningParameters", [])
            ),
            updated_time=_epoch(details.get("UpdatedTime")),
            changes=tuple(
                ResourceChange(
                    action=change.get("Action", ""),
                    logical_resource_id=change.get("LogicalResourceId", ""),
                    resource_type=change.get("ResourceType", ""),
                    replacement=change.get("Replacement", ""),
                    physical_resource_id=change.get("PhysicalResourceId", ""),
                )
                for change in response.get("ResourceChanges", [])
            ),
            next_changes_token=response.get("NextPageToken") or None,
        )

    def resource_changes(self, first_page: Plan) -> list[ResourceChange]:
        """Every resource change of a plan, following NextPageToken from an already fetched first page."""
        changes = list(first_page.changes)
        token = first_page.next_changes_token
        while token:
            page = self.describe_plan(first_page.plan_id, token)
            changes.extend(page.changes)
            token = page.next_changes_token
        return changes

    @tracer.capture_method(capture_response=False)
    def execute_plan(self, plan_id: str, idempotency_token: str) -> str:
        """Return the record id of the plan's execution."""
        response = translated_call(
            "ExecuteProvisionedProductPlan",
            lambda: self._client.execute_provisioned_product_plan(
                PlanId=plan_id, IdempotencyToken=idempotency_token, **self._language
            ),
        )
        return response["RecordDetail"]["RecordId"]

    @tracer.capture_method(capture_response=False)
    def describe_record(self, record_id: str, page_token: str | None = None) -> Record:
        paging: dict[str, Any] = {"PageToken": page_token} if page_token else {}
        response = translated_call(
            "DescribeRecord",
            lambda: self._client.describe_record(Id=record_id, PageSize=OUTPUTS_PAGE_SIZE, **paging, **self._language),
        )
        detail = response["RecordDetail"]
        return Record(
            record_id=record_id,
            status=detail.get("Status", ""),
            record_type=detail.get("RecordType", ""),
            provisioned_product_id=detail.get("ProvisionedProductId", ""),
            errors=tuple(
                RecordError(error.get("Code", ""), error.get("Description", ""))
                for error in detail.get("RecordErrors", [])
            ),
            outputs=tuple(
                (output.get("OutputKey", ""), output.get("OutputValue", ""))
                for output in response.get("RecordOutputs", [])
            ),
            next_outputs_token=response.get("NextPageToken") or None,
            product_id=detail.get("ProductId", ""),
            created_time=_epoch(detail.get("CreatedTime")),
            provisioning_artifact_id=detail.get("ProvisioningArtifactId", ""),
            path_id=detail.get("PathId", ""),
        )

    @tracer.capture_method(capture_response=False)
    def list_record_history(self, search_key: str, search_value: str) -> list[PastRecord]:
        """One page (newest first) of the records of a `provisionedproduct` or `product`, on the
        history client (short timeouts, one retry: the history is an optimisation, never a wait)."""
        response = translated_call(
            "ListRecordHistory",
            lambda: self._history_client().list_record_history(
                SearchFilter={"Key": search_key, "Value": search_value},
                AccessLevelFilter=HISTORY_ACCESS_LEVEL,
                PageSize=HISTORY_PAGE_SIZE,
                **self._language,
            ),
        )
        past = []
        for detail in response.get("RecordDetails", []):
            created, updated = _epoch(detail.get("CreatedTime")), _epoch(detail.get("UpdatedTime"))
            if created is not None and updated is not None:
                past.append(
                    PastRecord(
                        record_id=detail.get("RecordId", ""),
                        record_type=detail.get("RecordType", ""),
                        status=detail.get("Status", ""),
                        created_time=created,
                        updated_time=updated,
                    )
                )
        return past

    def record_outputs(self, first_page: Record) -> list[tuple[str, str]]:
        """Every output of a record, following NextPageToken from an already fetched first page."""
        outputs = list(first_page.outputs)
        token = first_page.next_outputs_token
        while token:
            page = self.describe_record(first_page.record_id, token)
            outputs.extend(page.outputs)
            token = page.next_outputs_token
        return outputs

    @tracer.capture_method(capture_response=False)
    def describe_product(self, provisioned_product_id: str) -> ProvisionedProduct | None:
        """None when the product does not exist (any more, or not visible yet: see wait.py)."""
        return self._describe_product({"Id": provisioned_product_id})

    def _describe_product(self, key: dict[str, str]) -> ProvisionedProduct | None:
        try:
            response = translated_call(
                "DescribeProvisionedProduct",
                lambda: self._client.describe_provisioned_product(**key, **self._language),
            )
        except NotFoundError:
            return None
        detail = response["ProvisionedProductDetail"]
        return ProvisionedProduct(
            provisioned_product_id=detail.get("Id", key.get("Id", "")),
            status=detail.get("Status", ""),
            status_message=detail.get("StatusMessage", ""),
            last_record_id=detail.get("LastRecordId", ""),
            last_successful_provisioning_record_id=detail.get("LastSuccessfulProvisioningRecordId", ""),
            provisioning_artifact_id=detail.get("ProvisioningArtifactId", ""),
            name=detail.get("Name", ""),
            product_id=detail.get("ProductId", ""),
            last_provisioning_record_id=detail.get("LastProvisioningRecordId", ""),
        )


def _epoch(value: object) -> float | None:
    """botocore parses timestamps to aware datetimes."""
    return value.timestamp() if isinstance(value, datetime) else None
