"""Is each product still what its stack declares? The drift check, for one product at a time.

CloudFormation's drift detection reports custom resources as NOT_CHECKED, so this is the only way a
stack owner learns that a product changed behind the stack's back. The provider's records hold
what it declared (the plan it applied last: version and parameters, records/managed.py) and every
record it made; Service Catalog holds the product's status, version and records; the product's own
stack holds its current parameters (servicecatalog/product_stack.py). One verdict per product:

- `DELETED`: the product is gone while a stack still holds it;
- `TAINTED` / `ERROR`: the product's own status (a failed update rolled back; a failed provisioning
  or termination), whoever caused it;
- `MODIFIED`: its version or a parameter differs from the declared one, or its last provisioning
  record is not one the provider made (an update by someone else, even back to the same values);
- `IN_SYNC`: none of those.

Parameters that were declared UsePreviousValue, or that the product's stack shows masked (NoEcho),
are not compared, and a value is printed only when the product's stack shows it: a declared value
the stack masks, or that nothing shows, is printed `****` (docs/drift.md). Used by the scheduled
check (routes/drift_check.py) and `sc-plan-execution drift`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from sc_plan_provider.core.value import Value, replace
from sc_plan_provider.servicecatalog.product_stack import MASKED, STACK_ARN_OUTPUT, is_masked
from sc_plan_provider.servicecatalog.wait import ESTABLISHED_PRODUCT, read_after_write, visible_product

if TYPE_CHECKING:
    from sc_plan_provider.records.managed import ManagedProduct
    from sc_plan_provider.servicecatalog.calls import ServiceCatalog
    from sc_plan_provider.servicecatalog.shapes import ProvisioningParameter
    from sc_plan_provider.waiting.waiter import Sleep

__all__ = ["DRIFTED", "DriftRow", "Verdict", "check_product", "stack_name"]


class Verdict:
    IN_SYNC: Final = "IN_SYNC"
    MODIFIED: Final = "MODIFIED"
    TAINTED: Final = "TAINTED"
    ERROR: Final = "ERROR"
    DELETED: Final = "DELETED"


DRIFTED = frozenset({Verdict.MODIFIED, Verdict.TAINTED, Verdict.ERROR, Verdict.DELETED})
BY_PROVIDER = "provider"
BY_SOMEONE_ELSE = "someone else"

# Reads a stack's parameters by ARN (NoEcho masked); None when the stack is gone.
StackParameters = Callable[[str], Mapping[str, str] | None]


class DriftRow(Value):
    """One managed resource's answer; parameter values as printable (never a NoEcho value)."""

    stack_id: str
    logical_resource_id: str
    provisioned_product_id: str
    verdict: str
    reasons: tuple[str, ...] = ()
    declared_plan_id: str = ""
    declared_version: str = ""  # provisioning artifact id
    declared_parameters: tuple[tuple[str, str], ...] = ()
    current_version: str = ""
    current_parameters: tuple[tuple[str, str], ...] = ()
    status: str = ""
    status_message: str = ""
    last_record_id: str = ""
    last_record_by: str = ""

    @property
    def stack_name(self) -> str:
        return stack_name(self.stack_id)

    @property
    def drifted(self) -> bool:
        return self.verdict in DRIFTED

    def to_json(self) -> dict[str, Any]:
        return {
            "StackId": self.stack_id,
            "StackName": self.stack_name,
            "LogicalResourceId": self.logical_resource_id,
            "ProvisionedProductId": self.provisioned_product_id,
            "Verdict": self.verdict,
            "Reasons": list(self.reasons),
            "Declared": {
                "PlanId": self.declared_plan_id or None,
                "ProvisioningArtifactId": self.declared_version or None,
                "Parameters": dict(self.declared_parameters),
            },
            "Current": {
                "Status": self.status or None,
                "StatusMessage": self.status_message or None,
                "ProvisioningArtifactId": self.current_version or None,
                "Parameters": dict(self.current_parameters),
            },
            "LastRecord": {"RecordId": self.last_record_id or None, "MadeBy": self.last_record_by or None},
        }


def stack_name(stack_id: str) -> str:
    """A stack's name from its id (`arn:...:stack/<name>/<uuid>`); the id itself otherwise."""
    return stack_id.split(":stack/", 1)[1].split("/", 1)[0] if ":stack/" in stack_id else stack_id


def check_product(
    managed: ManagedProduct, service_catalog: ServiceCatalog, parameters: StackParameters, *, sleep: Sleep
) -> DriftRow:
    """The verdict on one product; Service Catalog and CloudFormation errors propagate (the caller
    reports them as an error of the check, never as a verdict). Reads retry what Service Catalog
    may not show yet (a record just written), so a product is DELETED only after several reads."""
    declared = managed.declared
    declared_params = {} if declared is None else _declared_values(declared.version.parameters)
    base: dict[str, Any] = {
        "stack_id": managed.owner.stack_id,
        "logical_resource_id": managed.owner.logical_resource_id,
        "provisioned_product_id": managed.provisioned_product_id,
        "declared_plan_id": declared.plan_id if declared else "",
        "declared_version": declared.version.provisioning_artifact_id if declared else "",
    }
    product = visible_product(service_catalog, managed.provisioned_product_id, sleep=sleep, rule=ESTABLISHED_PRODUCT)
    if product is None:
        return DriftRow(
            **base,
            verdict=Verdict.DELETED,
            reasons=(f"provisioned product {managed.provisioned_product_id} no longer exists",),
            declared_parameters=_masked(declared_params, None),
        )
    last = product.last_provisioning_record_id or product.last_successful_provisioning_record_id
    by = "" if not last else BY_PROVIDER if last in managed.provider_records else BY_SOMEONE_ELSE
    current = _current_parameters(service_catalog, product.last_successful_provisioning_record_id, parameters, sleep)
    row = DriftRow(
        **base,
        verdict=Verdict.IN_SYNC,
        declared_parameters=_masked(declared_params, current),
        current_version=product.provisioning_artifact_id,
        current_parameters=tuple(sorted((k, MASKED if is_masked(v) else v) for k, v in (current or {}).items())),
        status=product.status,
        status_message=product.status_message,
        last_record_id=last,
        last_record_by=by,
    )
    if product.status in (Verdict.TAINTED, Verdict.ERROR):
        message = f": {product.status_message}" if product.status_message else ""
        return _with(row, product.status, f"the product is {product.status}{message}")
    reasons = []
    if by == BY_SOMEONE_ELSE and declared is not None:
        reasons.append(f"its last provisioning record {last} was not made by the provider")
    if declared is not None and product.provisioning_artifact_id != declared.version.provisioning_artifact_id:
        reasons.append(
            f"version {product.provisioning_artifact_id} instead of {declared.version.provisioning_artifact_id}"
        )
    if current is not None:
        reasons.extend(
            f"parameter {key} differs"
            for key, value in declared_params.items()
            if not is_masked(current.get(key, "")) and current.get(key) != value
        )
    if not reasons:
        return row
    return _with(row, Verdict.MODIFIED, *reasons)


def _declared_values(parameters: Iterable[ProvisioningParameter]) -> dict[str, str]:
    """The declared values to compare: UsePreviousValue keeps whatever the product had."""
    return {p.key: p.value for p in parameters if not p.use_previous_value and p.value is not None}


def _current_parameters(
    service_catalog: ServiceCatalog, record_id: str, parameters: StackParameters, sleep: Sleep
) -> dict[str, str] | None:
    """The product's parameters from its stack (the ARN among its last success's outputs); None when
    unknown: no successful record, no stack output (not a CloudFormation product), or the stack gone."""
    if not record_id:
        return None
    record = read_after_write(lambda: service_catalog.describe_record(record_id), sleep=sleep)
    arn = dict(service_catalog.record_outputs(record)).get(STACK_ARN_OUTPUT)
    if not arn:
        return None
    found = parameters(arn)
    return None if found is None else dict(found)


def _masked(declared: Mapping[str, str], current: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """Declared values as printable: shown only where the product's stack shows the key unmasked."""
    shown = {} if current is None else {k: v for k, v in current.items() if not is_masked(v)}
    return tuple(sorted((key, value if key in shown else MASKED) for key, value in declared.items()))


def _with(row: DriftRow, verdict: str, *reasons: str) -> DriftRow:
    return replace(row, verdict=verdict, reasons=reasons)
