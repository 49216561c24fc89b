"""Entities of the emulated Service Catalog account and the scripts that decide their outcomes.

Tests script what "CloudFormation" does per provisioning artifact (or per plan) with a
ProvisioningScript; the state module turns a script into a timeline when a plan is created or
executed, so statuses follow from wall-clock time without a background thread.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

PlanStatus = Literal[
    "CREATE_IN_PROGRESS",
    "CREATE_SUCCESS",
    "CREATE_FAILED",
    "EXECUTE_IN_PROGRESS",
    "EXECUTE_SUCCESS",
    "EXECUTE_FAILED",
]
RecordStatus = Literal["CREATED", "IN_PROGRESS", "IN_PROGRESS_IN_ERROR", "SUCCEEDED", "FAILED"]
RecordType = Literal["PROVISION_PRODUCT", "UPDATE_PROVISIONED_PRODUCT", "TERMINATE_PROVISIONED_PRODUCT"]
ProductStatus = Literal["AVAILABLE", "UNDER_CHANGE", "TAINTED", "ERROR", "PLAN_IN_PROGRESS"]
Guidance = Literal["DEFAULT", "DEPRECATED"]

TERMINAL_RECORD_STATUSES: frozenset[str] = frozenset({"SUCCEEDED", "FAILED"})
_ID_ALPHABET = string.ascii_lowercase + string.digits
NO_CHANGES_MESSAGE = (
    "The submitted information didn't contain changes. Submit different information to create a change set."
)
NO_UPDATES_MESSAGE = "No updates are to be performed."  # the other wording puppet has seen (rules.py, rule 1)


def new_id(prefix: str) -> str:
    """An id shaped like AWS's (``pp-`` + 13 lowercase alphanumerics)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(13))


class RecordError(NamedTuple):
    """One entry of a record's RecordErrors (``{"Code", "Description"}`` on the wire)."""

    code: str
    description: str


@dataclass(frozen=True)
class ProvisioningScript:
    """What happens when a plan for this artifact is created, executed, and the product terminated.

    Durations are seconds before the emulator's ``time_scale`` is applied. A non-empty ``errors``
    makes the execution FAIL (product ERROR for a provision, TAINTED and rolled back for an update);
    ``in_error_duration`` is the tail of ``duration`` spent in IN_PROGRESS_IN_ERROR before FAILED.
    ``product_status_after_success`` scripts a record that SUCCEEDS but leaves the product TAINTED
    or ERROR, which a careful caller must still treat as a failure. ``fails_with_parameters`` makes
    only the executions whose parameters include all those values fail (a value the template
    accepts at plan time but CloudFormation cannot apply), with ``errors`` or a generic error.
    """

    plan_duration: float = 0.0
    plan_failure: str | None = None
    resource_changes: Sequence[Mapping[str, Any]] | None = None
    duration: float = 0.0
    outputs: Mapping[str, str] = field(default_factory=dict)
    output_descriptions: Mapping[str, str] = field(default_factory=dict)
    errors: Sequence[RecordError] = ()
    in_error_duration: float = 0.0
    product_status_after_success: Literal["AVAILABLE", "TAINTED", "ERROR"] = "AVAILABLE"
    product_status_message: str = ""
    terminate_duration: float = 0.0
    terminate_errors: Sequence[RecordError] = ()
    fails_with_parameters: Mapping[str, str] = field(default_factory=dict)
    # The template's NoEcho parameters: the product's stack shows their values as ``****``.
    no_echo_parameters: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in ("plan_duration", "duration", "in_error_duration", "terminate_duration"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.in_error_duration > self.duration:
            raise ValueError("in_error_duration must fit inside duration")
        if self.in_error_duration and not (self.errors or self.fails_with_parameters):
            raise ValueError("in_error_duration only makes sense for a failing script (errors=...)")
        if self.product_status_after_success not in ("AVAILABLE", "TAINTED", "ERROR"):
            raise ValueError("product_status_after_success must be AVAILABLE, TAINTED or ERROR")

    def errors_for(self, parameters: Sequence[Mapping[str, str]]) -> Sequence[RecordError]:
        """The errors an execution with these resolved [{Key, Value}] parameters ends with."""
        if not self.fails_with_parameters:
            return self.errors
        values = {p["Key"]: p["Value"] for p in parameters}
        if any(values.get(k) != v for k, v in self.fails_with_parameters.items()):
            return ()
        return self.errors or (RecordError("CREATE_FAILED", "Parameter value not valid for this template"),)

    def resource_changes_for(self, action: Literal["ADD", "MODIFY"]) -> list[dict[str, Any]]:
        """The plan's ResourceChanges: the scripted ones, or one generic change when none are given."""
        if self.resource_changes is not None:
            return [dict(change) for change in self.resource_changes]
        return [
            {
                "Action": action,
                "LogicalResourceId": "Resource",
                "ResourceType": "AWS::CloudFormation::WaitConditionHandle",
                "Replacement": "FALSE",
                "Scope": [] if action == "ADD" else ["PROPERTIES"],
                "Details": [],
            }
        ]


@dataclass(frozen=True)
class SeededProduct:
    """A product added with ``add_product``: its id, its artifacts' and its launch paths' ids by name."""

    id: str
    name: str
    artifacts: Mapping[str, str]
    launch_paths: Mapping[str, str] = field(default_factory=dict)

    def artifact_id(self, name: str) -> str:
        """The provisioning artifact id for the artifact seeded under ``name``."""
        return self.artifacts[name]

    def path_id(self, portfolio: str) -> str:
        """The id of the launch path through the portfolio named ``portfolio``."""
        return self.launch_paths[portfolio]


@dataclass
class Artifact:
    """A provisioning artifact (product version) and its scripted behaviour.

    ``guidance`` DEPRECATED: "Users are able to make updates to a provisioned product of a deprecated
    version but cannot launch new provisioned products using a deprecated version" (API reference,
    UpdateProvisioningArtifact, Guidance).
    """

    id: str
    name: str
    product_id: str
    script: ProvisioningScript
    guidance: Guidance = "DEFAULT"
    created_time: float = 0.0


@dataclass(frozen=True)
class LaunchPath:
    """How the caller reaches a product: one per portfolio holding it, named after the portfolio
    (DescribeProduct's LaunchPaths; servicecatalog_puppet/aws.py get_path_for_product matches a
    launch path's Name with the portfolio's name)."""

    id: str
    name: str


@dataclass(frozen=True)
class Constraint:
    """A constraint on a product in one portfolio (launch path): what DescribeProvisioningParameters
    summarises as ``{Type, Description}``; ``parameters`` (its JSON) stays an administrator's to read."""

    type: str
    path_id: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Product:
    """A catalog product: its artifacts, the caller's launch paths to it, its constraints."""

    id: str
    name: str
    artifacts: dict[str, Artifact]
    launch_paths: list[LaunchPath] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    view_id: str = ""
    created_time: float = 0.0


@dataclass
class Record:
    """A provisioning/update/terminate request; ``timeline`` fixes when each status is reached."""

    id: str
    record_type: RecordType
    provisioned_product_id: str
    provisioned_product_name: str
    product_id: str
    provisioning_artifact_id: str
    path_id: str | None
    created_time: float
    updated_time: float
    status: RecordStatus
    timeline: list[tuple[float, RecordStatus]]
    errors: list[RecordError]
    outputs: list[dict[str, str]]
    tags: list[dict[str, str]]
    parameters: list[dict[str, str]] = field(default_factory=list)  # applied to the product on success
    plan_id: str | None = None
    idempotency_token: str | None = None
    ignore_errors: bool = False
    retain_physical_resources: bool = False  # a terminate that leaves the stack and its resources
    settled: bool = False
    created_by_caller: bool = True  # False: another user of the account (visible with AccessLevelFilter Account)


@dataclass
class Plan:
    """A provisioned product plan; ``is_update`` decides the record type when it is executed."""

    id: str
    name: str
    plan_type: str
    product_id: str
    provisioning_artifact_id: str
    path_id: str | None
    provisioned_product_id: str
    provisioned_product_name: str
    is_update: bool
    parameters: list[dict[str, Any]]  # as submitted (UsePreviousValue entries included), for Describe
    tags: list[dict[str, str]]
    notification_arns: list[str]
    created_time: float
    updated_time: float
    status: PlanStatus
    status_message: str | None
    ready_time: float
    script: ProvisioningScript
    resource_changes: list[dict[str, Any]]
    resolved_parameters: list[dict[str, str]] = field(default_factory=list)  # what executing applies
    no_changes: bool = False  # same artifact and parameters as the product: creation fails, as in AWS
    execution_record_id: str | None = None
    execute_tokens: dict[str, str] = field(default_factory=dict)
    created_by_caller: bool = True  # False: another user's (listed only with AccessLevelFilter Account)


@dataclass
class ProvisionedProduct:
    """A provisioned product (a CloudFormation stack in the real service)."""

    id: str
    name: str
    arn: str
    created_time: float
    status: ProductStatus
    status_message: str
    product_id: str
    provisioning_artifact_id: str
    path_id: str | None = None
    parameters: list[dict[str, str]] = field(default_factory=list)  # [{Key, Value}] of the current version
    idempotency_token: str | None = None
    last_record_id: str | None = None
    last_provisioning_record_id: str | None = None
    last_successful_provisioning_record_id: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    terminate_tokens: dict[str, str] = field(default_factory=dict)
    update_tokens: dict[str, str] = field(default_factory=dict)
    terminated: bool = False
    physical_resources_retained: bool = False  # terminated with RetainPhysicalResources: its stack stays
    stack_arn: str = ""  # its CloudFormation stack, once a provisioning record started one


class ProductVersion(NamedTuple):
    """What a provisioned product was last successfully provisioned or updated with."""

    product_id: str
    provisioning_artifact_id: str
    path_id: str | None
    parameters: dict[str, str]


class ProductStack(NamedTuple):
    """The CloudFormation stack behind a provisioned product, as DescribeStacks shows it."""

    arn: str
    name: str
    status: str
    created_time: float
    parameters: list[tuple[str, str]]  # (key, value), NoEcho values as ``****``
