"""The rules the real Service Catalog enforces beyond botocore's model, as one profile.

The state machine (state.py) and the dispatcher (api.py) ask a ``ServiceRules`` at a few named
points (``no_changes_message``, ``check_plan_delete``, ``check_new_plan``, ``execute_refusal``,
``placeholder_after_delete``, ``placeholder_status_after_failed_plan``, the read-consistency counts,
``input_error``) instead of branching on the profile themselves. Each rule names its source; where
the sources are silent or disagree the answer is a field, so a test can play every answer and
``python -m local_cloud.servicecatalog.probe`` can settle it in a real account and save the
answers as a profile (JSON) that ``ServiceRules.load`` reads back.

``ServiceRules.real()`` is the strict default; ``ServiceRules.lenient()`` is the emulator as it was
before these rules (kept for suites whose subject is not these rules).
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from local_cloud.servicecatalog.errors import (
    InvalidParametersException,
    InvalidStateException,
    ResourceNotFoundException,
    ServiceCatalogError,
    ValidationException,
)
from local_cloud.servicecatalog.model import NO_CHANGES_MESSAGE, NO_UPDATES_MESSAGE, Plan, ProvisionedProduct

PROFILE_ENV_VAR = "LOCAL_CLOUD_SC_PROFILE"
"""Path of a profile JSON (e.g. written by the probe) that emulators built without ``rules`` use."""

ExecuteRefusalCode = Literal[
    "InvalidStateException", "InvalidParametersException", "ResourceNotFoundException", "ValidationException"
]
PlanRefusalCode = Literal["InvalidStateException", "InvalidParametersException", "ResourceNotFoundException"]
PlaceholderFate = Literal["removed", "kept"]
PlaceholderFailedStatus = Literal["ERROR", "PLAN_IN_PROGRESS"]
MalformedInputCode = Literal["ValidationException", "InvalidParametersException"]
NO_CHANGES_MESSAGES = (NO_CHANGES_MESSAGE, NO_UPDATES_MESSAGE)

_ERRORS: dict[str, type[ServiceCatalogError]] = {
    "InvalidStateException": InvalidStateException,
    "InvalidParametersException": InvalidParametersException,
    "ResourceNotFoundException": ResourceNotFoundException,
    "ValidationException": ValidationException,
}
# Plans that still count toward "one plan per provisioned product" whatever the profile says:
# those not yet executed. Executed ones (EXECUTE_*) count only if ``executed_plans_count``.
_UNEXECUTED = frozenset({"CREATE_IN_PROGRESS", "CREATE_SUCCESS", "CREATE_FAILED"})
_EXECUTED = frozenset({"EXECUTE_IN_PROGRESS", "EXECUTE_SUCCESS", "EXECUTE_FAILED"})


def _cloudformation_error(message: str, code: str) -> str:
    """A CloudFormation error as Service Catalog passes it through (wording of puppet issue 378)."""
    return (
        f"{message} (Service: AmazonCloudFormation; Status Code: 400; Error Code: {code}; "
        f"Request ID: {uuid.uuid4()}; Proxy: null)"
    )


@dataclass(frozen=True)
class ServiceRules:
    """One answer to each question the real service's documentation leaves open (see the module doc).

    Build variants with ``dataclasses.replace(ServiceRules.real(), field=value)``.
    """

    name: str = "real"

    # 1. An update plan with nothing to change ends CREATE_FAILED with one of two messages:
    #    servicecatalog_puppet/aws.py (provision_product_with_plan) swallows exactly these two, the
    #    second added the same day as the first (commits fbd50305, f4712e0a: "cfn <-> sc
    #    plan/changeset behaviour seems to have changed"). The change set wording is CloudFormation's
    #    for an empty change set, which a plan is; "No updates" is UpdateStack's.
    no_changes_message: str = NO_CHANGES_MESSAGE

    # 2. Deleting an EXECUTE_FAILED plan fails: "ValidationException ... Cannot delete ChangeSet in
    #    execution status EXECUTE_FAILED (Service: AmazonCloudFormation; ... Error Code:
    #    InvalidChangeSetStatus ...)" (awslabs/aws-service-catalog-puppet issues 378 and 283; puppet
    #    now passes IgnoreErrors=True on every DeleteProvisionedProductPlan, aws.py).
    failed_plan_delete_needs_ignore_errors: bool = True

    # 3. "You can create one plan for each provisioned product. To create a plan for an existing
    #    provisioned product, the product status must be AVAILABLE or TAINTED." (API reference,
    #    CreateProvisionedProductPlan). puppet deletes the product's existing plan before creating
    #    one (aws.py, provision_product_with_plan). Unsure: whether an executed plan still counts,
    #    and which of the model's errors the refusal is.
    one_plan_per_product: bool = True
    executed_plans_count: bool = True
    plan_needs_available_product: bool = True
    one_plan_error: PlanRefusalCode = "InvalidStateException"

    # 4. Only a CREATE_SUCCESS plan can be executed; the error otherwise is undocumented (the model
    #    lists InvalidParametersException, ResourceNotFoundException, InvalidStateException, and the
    #    service passes some CloudFormation change set errors through as ValidationException, as in
    #    rule 2). A repeated IdempotencyToken: "If multiple requests differ only by the idempotency
    #    token, the same response is returned for each repeated request" (model documentation of
    #    ExecuteProvisionedProductPlan.IdempotencyToken), so it replays the first record, unless the
    #    service checks the plan's status first.
    execute_refusal_error: ExecuteRefusalCode = "InvalidStateException"
    execute_token_replays: bool = True

    # 5. CreateProvisionedProductPlan for a new name makes a pp- product in PLAN_IN_PROGRESS ("The
    #    plan operations were performed to provision a new product, but resources have not yet been
    #    created", model documentation of ProvisionedProductDetail.Status). What deleting its only
    #    plan unexecuted does is undocumented. CloudFormation keeps a stack whose only change set is
    #    deleted unexecuted (REVIEW_IN_PROGRESS; aws-cloudformation/rain issue 477), hence "kept":
    #    the product stays PLAN_IN_PROGRESS, a later plan for the name plans it again as a new
    #    product, and TerminateProvisionedProduct removes it quickly (there is no stack to delete).
    placeholder_after_plan_deleted: PlaceholderFate = "kept"
    placeholder_after_failed_plan_deleted: PlaceholderFate = "kept"
    placeholder_status_after_failed_plan: PlaceholderFailedStatus = "ERROR"

    # 6. Eventual consistency. terraform-provider-aws (internal/service/servicecatalog/wait.go:
    #    NotFoundChecks = 5, ContinuousTargetOccurrence = 2, MinTimeout = 2 s on
    #    waitProvisionedProductReady; provisioned_product.go retries ResourceNotFoundException
    #    around ProvisionProduct) tolerates a just-made object being briefly not found and wants a
    #    target status twice, as a stale read can show the status from before a write. Counted in
    #    reads, not seconds, so tests stay deterministic: each new record, plan and provisioned
    #    product answers its first ``not_found_reads`` reads (DescribeRecord,
    #    DescribeProvisionedProductPlan, ListProvisionedProductPlans leaves it out,
    #    DescribeProvisionedProduct by id or name) with ResourceNotFoundException, and after a write
    #    changes an object's status (Execute, Update, Terminate started, a terminate or a placeholder
    #    removal done) its next ``stale_reads`` reads show it as it was before. One of each is the
    #    least that sends every caller down its retry path once per object, at the cost of one retry
    #    delay per object; more would only repeat the same path.
    not_found_reads: int = 1
    stale_reads: int = 1

    # 7. Malformed input: "ValidationException: 1 validation error detected: Value 'My Test
    #    Sandbox1' at 'provisionedProductName' failed to satisfy constraint: Member must satisfy
    #    regular expression pattern: [a-zA-Z0-9][a-zA-Z0-9._-]*" (Service Catalog ProvisionProduct,
    #    aws-ia/terraform-aws-control_tower_account_factory issue 103): lowerCamelCase member paths,
    #    list members as "tags.6.member.value" (the same front end elsewhere: SWO-GS/auto-tag issue
    #    90, awslabs/coldsnap PR 378). A member of the wrong JSON type is a SerializationException on
    #    AWS's JSON 1.1 front end ("NUMBER_VALUE can not be converted to a String", DynamoDB:
    #    brendanhay/amazonka issue 43, ca98am79/connect-dynamodb PR 100). InvalidParametersException
    #    stays for each operation's own rules, as the model lists it.
    malformed_input_error: MalformedInputCode = "ValidationException"

    # What a probe saw (raw error codes and messages), carried into and out of the JSON file.
    observed: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        choices = {
            "one_plan_error": PlanRefusalCode,
            "execute_refusal_error": ExecuteRefusalCode,
            "placeholder_after_plan_deleted": PlaceholderFate,
            "placeholder_after_failed_plan_deleted": PlaceholderFate,
            "placeholder_status_after_failed_plan": PlaceholderFailedStatus,
            "malformed_input_error": MalformedInputCode,
        }
        for name, literal in choices.items():
            if getattr(self, name) not in get_args(literal):
                raise ValueError(f"{name} must be one of {', '.join(get_args(literal))}, not {getattr(self, name)!r}")
        for name in ("no_changes_message", "name"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")
        for name in ("not_found_reads", "stale_reads"):
            count = getattr(self, name)
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise ValueError(f"{name} must be an integer >= 0")
        for name in (
            "failed_plan_delete_needs_ignore_errors",
            "one_plan_per_product",
            "executed_plans_count",
            "plan_needs_available_product",
            "execute_token_replays",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a boolean")

    # ----------------------------------------------------------------- profiles

    @classmethod
    def real(cls) -> ServiceRules:
        """The strict profile: every rule above, uncertain ones at their likeliest answer."""
        return cls()

    @classmethod
    def lenient(cls) -> ServiceRules:
        """The emulator before these rules: any number of plans, no consistency lag, kind errors."""
        return cls(
            name="lenient",
            failed_plan_delete_needs_ignore_errors=False,
            one_plan_per_product=False,
            executed_plans_count=False,
            plan_needs_available_product=False,
            placeholder_after_plan_deleted="removed",
            placeholder_after_failed_plan_deleted="removed",
            not_found_reads=0,
            stale_reads=0,
            malformed_input_error="InvalidParametersException",
        )

    @classmethod
    def rule_names(cls) -> tuple[str, ...]:
        """The fields a profile file may set (everything but ``name`` and ``observed``)."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name not in ("name", "observed"))

    def to_json(self) -> dict[str, Any]:
        """``{"name", "rules": {...}, "observed": {...}}``, the profile file's content."""
        return {
            "name": self.name,
            "rules": {name: getattr(self, name) for name in self.rule_names()},
            "observed": dict(self.observed),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServiceRules:
        """A profile from ``to_json``'s shape; rules it leaves out keep ``real()``'s answers."""
        unknown = set(data) - {"name", "rules", "observed"}
        rules = data.get("rules", {})
        if unknown or not isinstance(rules, Mapping):
            raise ValueError(f"not a Service Catalog rules profile (unknown keys: {sorted(unknown)})")
        bad = set(rules) - set(cls.rule_names())
        if bad:
            raise ValueError(f"unknown rules in profile: {', '.join(sorted(bad))}")
        return dataclasses.replace(
            cls.real(), name=str(data.get("name", "profile")), observed=dict(data.get("observed", {})), **rules
        )

    def save(self, path: Path | str) -> None:
        """Write the profile as JSON (what the probe writes and ``load`` reads)."""
        Path(path).write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path | str) -> ServiceRules:
        """Read a profile written by ``save`` (or by hand: only the rules to change need be given)."""
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def from_environment(cls, default: ServiceRules) -> ServiceRules:
        """The profile named by ``LOCAL_CLOUD_SC_PROFILE`` if set, else ``default``."""
        path = os.environ.get(PROFILE_ENV_VAR)
        return cls.load(path) if path else default

    # ----------------------------------------------------------------- the points state.py and api.py consult

    def check_new_plan(self, product: ProvisionedProduct | None, plans_of_product: Sequence[Plan]) -> None:
        """Rule 3: refuse CreateProvisionedProductPlan for a product that may not get another plan.

        ``product`` is the live product of the requested name (None for a new name); a product never
        executed (a placeholder) may be planned whatever its status.
        """
        if product is None:
            return
        if self.one_plan_per_product:
            counted = _UNEXECUTED | (_EXECUTED if self.executed_plans_count else frozenset())
            blocking = [p for p in plans_of_product if p.status in counted]
            if blocking:
                raise _ERRORS[self.one_plan_error](
                    f"Provisioned product {product.name} already has plan {blocking[0].id} "
                    f"({blocking[0].status}); you can create one plan for each provisioned product."
                )
        placeholder = product.last_record_id is None
        if self.plan_needs_available_product and not placeholder and product.status not in ("AVAILABLE", "TAINTED"):
            raise InvalidStateException(
                f"Provisioned product {product.id} is {product.status}; "
                "to create a plan for it, its status must be AVAILABLE or TAINTED."
            )

    def execute_refusal(self, plan: Plan) -> ServiceCatalogError:
        """Rule 4: the error for executing a plan that is not CREATE_SUCCESS."""
        if self.execute_refusal_error == "ValidationException":
            return ValidationException(
                _cloudformation_error(
                    f"ChangeSet [{plan.id}] cannot be executed in its current status of [{plan.status}]",
                    "InvalidChangeSetStatus",
                )
            )
        return _ERRORS[self.execute_refusal_error](
            f"Plan {plan.id} is {plan.status}; only a plan in CREATE_SUCCESS can be executed."
        )

    def check_plan_delete(self, plan: Plan, *, ignore_errors: bool) -> None:
        """Rule 2: an EXECUTE_FAILED plan keeps its change set unless IgnoreErrors."""
        if plan.status == "EXECUTE_FAILED" and self.failed_plan_delete_needs_ignore_errors and not ignore_errors:
            raise ValidationException(
                _cloudformation_error(
                    "Cannot delete ChangeSet in execution status EXECUTE_FAILED", "InvalidChangeSetStatus"
                )
            )

    def placeholder_after_delete(self, plan: Plan) -> PlaceholderFate:
        """Rule 5: what happens to a never-executed product when its last plan is deleted."""
        if plan.status == "CREATE_FAILED":
            return self.placeholder_after_failed_plan_deleted
        return self.placeholder_after_plan_deleted

    def input_error(
        self, count: int, aws_messages: Sequence[str], model_messages: Sequence[str]
    ) -> ServiceCatalogError:
        """Rule 7: the error for ``count`` broken constraints of a request."""
        noun = "error" if count == 1 else "errors"
        if self.malformed_input_error == "ValidationException":
            return ValidationException(f"{count} validation {noun} detected: " + "; ".join(aws_messages))
        return InvalidParametersException(f"{count} validation {noun} detected: " + "; ".join(model_messages))
