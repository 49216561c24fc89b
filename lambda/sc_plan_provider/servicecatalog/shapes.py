"""What Service Catalog's answers mean to the provider: plans, records and products as typed values,
and their statuses (as Terraform's servicecatalog `status.go`: when a plan can execute, when a record
is done, when a product did not get what was asked; docs/facts.md#plans-and-their-statuses,
docs/facts.md#records-outputs-and-products).

Each value is read from botocore's shapes by the call that returns it (calls.py); the field names
follow the API's, spelled the Python way.
"""

from __future__ import annotations

from sc_plan_provider.core.value import Value

PLAN_CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
PLAN_CREATE_FAILED = "CREATE_FAILED"
PLAN_CREATE_SUCCESS = "CREATE_SUCCESS"  # the only status a plan executes from
PLAN_EXECUTED_STATUSES = frozenset({"EXECUTE_IN_PROGRESS", "EXECUTE_SUCCESS", "EXECUTE_FAILED"})

RECORD_SUCCEEDED = "SUCCEEDED"
RECORD_FAILED = "FAILED"
# IN_PROGRESS_IN_ERROR is not terminal: Service Catalog is rolling back and FAILED is coming.
TERMINAL_RECORD_STATUSES = frozenset({RECORD_SUCCEEDED, RECORD_FAILED})
PROVISION_PRODUCT = "PROVISION_PRODUCT"
UPDATE_PROVISIONED_PRODUCT = "UPDATE_PROVISIONED_PRODUCT"

PRODUCT_UNDER_CHANGE = "UNDER_CHANGE"
# A product left in one of these after a SUCCEEDED record did not get what was asked.
FAILED_PRODUCT_STATUSES = frozenset({"TAINTED", "ERROR"})
# A change is still under way on a product in one of these.
TRANSITIONAL_PRODUCT_STATUSES = frozenset({PRODUCT_UNDER_CHANGE, "PLAN_IN_PROGRESS"})


class ProvisioningParameter(Value):
    """One of a plan's ProvisioningParameters, as submitted (UsePreviousValue kept, not resolved)."""

    key: str
    value: str | None = None
    use_previous_value: bool = False


class ProductVersion(Value):
    """What a provisioned product is given: product, provisioning artifact, launch path, parameters.

    The parameters are as submitted (UsePreviousValue kept): they may be secrets, never log them.
    """

    product_id: str
    provisioning_artifact_id: str
    path_id: str = ""
    parameters: tuple[ProvisioningParameter, ...] = ()


class ResourceChange(Value):
    """One entry of a plan's ResourceChanges (Service Catalog's ResourceChange shape)."""

    action: str
    logical_resource_id: str
    resource_type: str
    replacement: str = ""
    physical_resource_id: str = ""


class ChangeSummary(Value):
    """How many resources a plan adds, modifies, removes and replaces.

    Replace counts MODIFY changes with Replacement TRUE or CONDITIONAL; they are among Modify too.
    """

    add: int = 0
    modify: int = 0
    remove: int = 0
    replace: int = 0


class Plan(Value):
    """A plan's details and its first page of resource changes (`resource_changes` reads them all)."""

    plan_id: str
    status: str
    status_message: str
    provisioned_product_id: str
    product_id: str = ""
    provisioning_artifact_id: str = ""
    path_id: str = ""
    parameters: tuple[ProvisioningParameter, ...] = ()
    updated_time: float | None = None  # epoch seconds, Service Catalog's clock
    changes: tuple[ResourceChange, ...] = ()
    next_changes_token: str | None = None

    def version(self) -> ProductVersion:
        """What executing (or re-applying) this plan gives its product."""
        return ProductVersion(self.product_id, self.provisioning_artifact_id, self.path_id, self.parameters)


class RecordError(Value):
    code: str
    description: str


class Record(Value):
    record_id: str
    status: str
    record_type: str
    provisioned_product_id: str
    errors: tuple[RecordError, ...]
    outputs: tuple[tuple[str, str], ...]
    next_outputs_token: str | None
    product_id: str = ""
    created_time: float | None = None  # epoch seconds, Service Catalog's clock
    provisioning_artifact_id: str = ""
    path_id: str = ""


class PastRecord(Value):
    """One entry of a product's record history."""

    record_id: str
    record_type: str
    status: str
    created_time: float  # epoch seconds
    updated_time: float

    @property
    def duration(self) -> float:
        return self.updated_time - self.created_time


class ProvisionedProduct(Value):
    provisioned_product_id: str
    status: str
    status_message: str
    last_record_id: str
    last_successful_provisioning_record_id: str
    provisioning_artifact_id: str = ""
    name: str = ""
    product_id: str = ""
    last_provisioning_record_id: str = ""


def is_settled_after(product: ProvisionedProduct, record_id: str) -> bool:
    """The product as the record left it: the record is its last, and no change is under way."""
    return (
        record_id in (product.last_record_id, product.last_provisioning_record_id)
        and product.status not in TRANSITIONAL_PRODUCT_STATUSES
    )


def describe_errors(record: Record) -> str:
    """Record errors as one line for a FAILED reason."""
    if not record.errors:
        return "no error details were given"
    return "; ".join(f"{error.code}: {error.description}" for error in record.errors)
