"""The custom resource's interface: every property it reads, validated, and every attribute it answers with.

CloudFormation sends every property value as a string, so everything here parses strings and
fails with a message that names the property and says what is allowed. Nothing here calls AWS:
bad input is rejected before the first API call. The CDK construct runs the same checks at synth
time, so the rules live in exactly one place.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from sc_plan_provider.core.value import Value
from sc_plan_provider.properties.spec_properties import SPEC_PROPERTIES, declares_spec
from sc_plan_provider.properties.values import InvalidPropertyError, is_id, shown
from sc_plan_provider.waiting.policy import (
    MAX_BACKOFF_RATE,
    MAX_INTERVAL_SECONDS,
    MAX_MAX_INTERVAL_SECONDS,
    MIN_BACKOFF_RATE,
    MIN_INTERVAL_SECONDS,
    PollingPolicy,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sc_plan_provider.properties.spec import ProductSpec

PLAN_ID = "PlanId"
ACCEPT_LANGUAGE = "AcceptLanguage"
POLLING_INTERVAL_SECONDS = "PollingIntervalSeconds"
POLLING_BACKOFF_RATE = "PollingBackoffRate"
POLLING_MAX_INTERVAL_SECONDS = "PollingMaxIntervalSeconds"
DEADLINE_SECONDS = "DeadlineSeconds"
SERVICE_TIMEOUT = "ServiceTimeout"
LEARNED_POLLING = "LearnedPolling"
POLLING_PROPERTIES = (POLLING_INTERVAL_SECONDS, POLLING_BACKOFF_RATE, POLLING_MAX_INTERVAL_SECONDS)
NO_ECHO = "NoEcho"
ADOPT_EXISTING = "AdoptExisting"
RETAIN_PHYSICAL_RESOURCES = "RetainPhysicalResources"
TERMINATE_IGNORE_ERRORS = "TerminateIgnoreErrors"
# Any new value re-applies what the resource declares to its product (docs/drift.md#the-way-back).
REAPPLY_TOKEN = "ReapplyToken"  # noqa: S105 - a property name, not a secret
MAX_REAPPLY_TOKEN_CHARS = 256
# The opt-out for templates that carry properties the provider does not read (properties/unknown.py).
IGNORE_UNKNOWN_PROPERTIES = "IgnoreUnknownProperties"
# The change gate's two allow flags (steps/gate.py).
ALLOW_REPLACEMENT = "AllowReplacement"
ALLOW_REMOVAL = "AllowRemoval"

# The custom resource the construct adds beside an ephemeral provider's owners table
# (routes/owners_guard.py): it has no properties.
OWNERS_GUARD_TYPE = "Custom::ServiceCatalogPlanExecutionOwnersGuard"

# Every property the provider reads (ServiceToken is CloudFormation's own). The README's property
# table is tested against this list, and a request with any other property fails naming it (a typo
# must not fall back to a default silently; properties/unknown.py).
SERVICE_TOKEN = "ServiceToken"  # noqa: S105 - a property name, not a secret
KNOWN_PROPERTIES: tuple[str, ...] = (
    PLAN_ID,
    *SPEC_PROPERTIES,
    ACCEPT_LANGUAGE,
    POLLING_INTERVAL_SECONDS,
    POLLING_BACKOFF_RATE,
    POLLING_MAX_INTERVAL_SECONDS,
    DEADLINE_SECONDS,
    SERVICE_TIMEOUT,
    ALLOW_REPLACEMENT,
    ALLOW_REMOVAL,
    LEARNED_POLLING,
    NO_ECHO,
    ADOPT_EXISTING,
    RETAIN_PHYSICAL_RESOURCES,
    TERMINATE_IGNORE_ERRORS,
    REAPPLY_TOKEN,
    IGNORE_UNKNOWN_PROPERTIES,
)

# The attributes a successful answer gives (Fn::GetAtt), strings like every custom resource attribute.
PROVISIONED_PRODUCT_ID = "ProvisionedProductId"
RECORD_ID = "RecordId"
# What the record applied (a spec's names resolved): the catalog product, its version, the launch path.
CATALOG_IDS = ("ProductId", "ProvisioningArtifactId", "PathId")
OUTPUT_PREFIX = "Outputs."
# The change summary of the plan that was applied (or reported).
CHANGES_ADD = "Changes.Add"
CHANGES_MODIFY = "Changes.Modify"
CHANGES_REMOVE = "Changes.Remove"
CHANGES_REPLACE = "Changes.Replace"
SUMMARY_KEYS = (CHANGES_ADD, CHANGES_MODIFY, CHANGES_REMOVE, CHANGES_REPLACE)
# The attribute names of the outputs that did not fit the 4096-byte answer, comma-separated ("" when
# all fit): a GetAtt of a left-out output fails in the stack, and this says why, there.
OUTPUTS_LEFT_OUT = "OutputsLeftOut"
# The ids, the change summary and the left-out outputs always stay in the answer (they are small);
# outputs fill the rest.
REQUIRED_DATA_KEYS = (PROVISIONED_PRODUCT_ID, RECORD_ID, *CATALOG_IDS, *SUMMARY_KEYS, OUTPUTS_LEFT_OUT)

BOOLEANS = {"true": True, "false": False}
# Stands in for a plan id a Delete does not need (lenient_properties).
UNUSED_PLAN_ID = "unused-on-delete"

ACCEPT_LANGUAGES = ("en", "jp", "zh")

# CloudFormation waits at most an hour for a custom resource (ServiceTimeout 1-3600 s).
MAX_SERVICE_TIMEOUT_SECONDS = 3600
# The default deadline stops this much before CloudFormation would give up on its own, so the
# stack gets our clear reason rather than CloudFormation's generic timeout.
DEADLINE_MARGIN_SECONDS = 30


class PlanProperties(Value):
    """What one custom resource asks for, after validation: a plan id or a product spec, never both."""

    plan_id: str | None
    accept_language: str | None
    polling: PollingPolicy
    deadline_seconds: float
    service_timeout_seconds: float = MAX_SERVICE_TIMEOUT_SECONDS
    allow_replacement: bool = False  # the change gate lets replacements through (TRUE and CONDITIONAL)
    allow_removal: bool = False  # the change gate lets removals through
    learned_polling: bool = False  # poll records by the product's record history (waiting/policy.py)
    spec: ProductSpec | None = None  # the product to plan from, instead of a plan id (spec mode)
    no_echo: bool = False  # the answer asks CloudFormation to mask its Data (NoEcho)
    deadline_given: float | None = None  # a DeadlineSeconds above the cap, as given (deadline_seconds is the cap)
    adopt_existing: bool = False  # spec mode may plan a provisioned product of that name that no stack owns
    retain_physical_resources: bool = False  # Delete: Service Catalog forgets the product, keeps its resources
    terminate_ignore_errors: bool = False  # Delete: Service Catalog forgets the product even if deleting fails
    ignore_unknown_properties: bool = False  # properties the provider does not read are logged, not refused

    def deadline_reason(self) -> str:
        """What the FAILED reason says ran out when DeadlineSeconds did."""
        if self.deadline_given is None:
            return f"{DEADLINE_SECONDS} ({self.deadline_seconds:g} s) ran out"
        return (
            f"{DEADLINE_SECONDS} ({self.deadline_given:g} s given, capped at {self.deadline_seconds:g} s to leave "
            f"time to answer before {SERVICE_TIMEOUT} {self.service_timeout_seconds:g} s) ran out"
        )


def parse_properties(raw: Mapping[str, Any]) -> PlanProperties:
    """Validate `ResourceProperties` (the names it does not read are the caller's: unknown_properties).

    Exactly one of `PlanId` or a product spec: both or neither is refused here, naming them.
    """
    plan_id, spec = _plan_or_spec(raw)
    _check_reapply_token(raw.get(REAPPLY_TOKEN))
    accept_language = _accept_language(raw.get(ACCEPT_LANGUAGE))
    defaults = PollingPolicy()
    interval = _number(
        raw, POLLING_INTERVAL_SECONDS, defaults.interval_seconds, MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS
    )
    backoff_rate = _number(raw, POLLING_BACKOFF_RATE, defaults.backoff_rate, MIN_BACKOFF_RATE, MAX_BACKOFF_RATE)
    max_interval = _number(
        raw,
        POLLING_MAX_INTERVAL_SECONDS,
        max(defaults.max_interval_seconds, interval),
        interval,
        MAX_MAX_INTERVAL_SECONDS,
    )
    service_timeout = _number(raw, SERVICE_TIMEOUT, MAX_SERVICE_TIMEOUT_SECONDS, 1, MAX_SERVICE_TIMEOUT_SECONDS)
    deadline = _number(
        raw,
        DEADLINE_SECONDS,
        default_deadline_seconds(service_timeout),
        1,
        service_timeout,
        hint=f" ({SERVICE_TIMEOUT} is {service_timeout:g} s: CloudFormation stops waiting then)",
    )
    # The answer needs time after the deadline: a deadline up to ServiceTimeout itself would let
    # CloudFormation give up first (and a Create's physical id never reach the stack).
    cap = default_deadline_seconds(service_timeout)
    return PlanProperties(
        plan_id=plan_id,
        accept_language=accept_language,
        polling=PollingPolicy(interval, backoff_rate, max_interval),
        deadline_seconds=min(deadline, cap),
        deadline_given=deadline if deadline > cap else None,
        service_timeout_seconds=service_timeout,
        allow_replacement=_boolean(raw.get(ALLOW_REPLACEMENT), ALLOW_REPLACEMENT),
        allow_removal=_boolean(raw.get(ALLOW_REMOVAL), ALLOW_REMOVAL),
        learned_polling=learned_polling(raw),
        spec=spec,
        no_echo=_boolean(raw.get(NO_ECHO), NO_ECHO),
        adopt_existing=_boolean(raw.get(ADOPT_EXISTING), ADOPT_EXISTING),
        retain_physical_resources=_boolean(raw.get(RETAIN_PHYSICAL_RESOURCES), RETAIN_PHYSICAL_RESOURCES),
        terminate_ignore_errors=_boolean(raw.get(TERMINATE_IGNORE_ERRORS), TERMINATE_IGNORE_ERRORS),
        ignore_unknown_properties=_boolean(raw.get(IGNORE_UNKNOWN_PROPERTIES), IGNORE_UNKNOWN_PROPERTIES),
    )


def reapply_requested(properties: Mapping[str, Any], old_properties: Mapping[str, Any]) -> bool:
    """An Update whose ReapplyToken changed: re-apply the declared plan or spec even if unchanged."""
    return str(properties.get(REAPPLY_TOKEN) or "") != str(old_properties.get(REAPPLY_TOKEN) or "")


def _check_reapply_token(value: Any) -> None:
    """Any short printable text: only its change matters (a counter, a date, a ticket number)."""
    if value is None or (
        isinstance(value, str) and len(value) <= MAX_REAPPLY_TOKEN_CHARS and value.isascii() and value.isprintable()
    ):
        return
    raise InvalidPropertyError(
        f"{REAPPLY_TOKEN} {shown(value)} is not valid: use up to {MAX_REAPPLY_TOKEN_CHARS} printable ASCII "
        "characters; a new value re-applies the plan or spec."
    )


def learned_polling(raw: Mapping[str, Any]) -> bool:
    """LearnedPolling if set; otherwise on exactly when no Polling* property is set (explicit polling
    properties win). With LearnedPolling true they are the policy the learned schedule builds on."""
    default = not any(raw.get(name) not in (None, "") for name in POLLING_PROPERTIES)
    return _boolean(raw.get(LEARNED_POLLING), LEARNED_POLLING, default=default)


def _plan_or_spec(raw: Mapping[str, Any]) -> tuple[str | None, ProductSpec | None]:
    has_plan_id = raw.get(PLAN_ID) not in (None, "")
    has_spec = declares_spec(raw)
    if has_plan_id and has_spec:
        given = [name for name in SPEC_PROPERTIES if raw.get(name) not in (None, "", [])]
        raise InvalidPropertyError(
            f"{PLAN_ID} and a product spec ({', '.join(given)}) are both given: give exactly one. Keep "
            f"{PLAN_ID} to execute a plan made elsewhere, or remove it to have the stack plan the spec."
        )
    if has_spec:
        from sc_plan_provider.properties.spec_checks import parse_product_spec  # noqa: PLC0415 - spec mode only

        return None, parse_product_spec(raw)
    return _plan_id(raw.get(PLAN_ID)), None


def unknown_properties(raw: Mapping[str, Any]) -> list[str]:
    """Names in `ResourceProperties` that the provider does not read (typos, template extras)."""
    return sorted(name for name in raw if name not in KNOWN_PROPERTIES and name != SERVICE_TOKEN)


def ignores_unknown_properties(raw: Mapping[str, Any]) -> bool:
    """IgnoreUnknownProperties is "true" (its value is validated with the others, by parse_properties)."""
    return str(raw.get(IGNORE_UNKNOWN_PROPERTIES, "")).lower() == "true"


def default_deadline_seconds(service_timeout_seconds: float) -> float:
    """Leave a margin before ServiceTimeout (half of it for very short timeouts)."""
    return max(service_timeout_seconds - DEADLINE_MARGIN_SECONDS, service_timeout_seconds / 2)


def _plan_id(value: Any) -> str:
    if value is None or value == "":
        raise InvalidPropertyError(
            f"{PLAN_ID} is required: set it to the id of a Service Catalog provisioned product plan "
            "(the PlanId that CreateProvisionedProductPlan returned, shown in the console's plan list), "
            "or give a product spec instead (ProductId, ProvisioningArtifactId, ProvisionedProductName) to have "
            "the stack plan it."
        )
    if not is_id(value):
        raise InvalidPropertyError(
            f"{PLAN_ID} {shown(value)} is not a plan id: use 1-100 characters of letters, digits, "
            "'_' and '-', as returned by CreateProvisionedProductPlan."
        )
    return value


def _accept_language(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if value not in ACCEPT_LANGUAGES:
        raise InvalidPropertyError(
            f"{ACCEPT_LANGUAGE} {shown(value)} is not supported: use one of "
            f"{', '.join(ACCEPT_LANGUAGES)}, or leave it out for English."
        )
    return str(value)


def _boolean(value: Any, name: str, *, default: bool = False) -> bool:
    """CloudFormation sends booleans as "true"/"false"; anything else is a mistake worth naming."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in BOOLEANS:
        return BOOLEANS[value.lower()]
    quoted = json.dumps(value) if isinstance(value, str) and len(value) <= 60 else shown(value)
    raise InvalidPropertyError(f'{name} {quoted} is not a boolean: use "true" or "false".')


def _number(raw: Mapping[str, Any], name: str, default: float, low: float, high: float, *, hint: str = "") -> float:
    value = raw.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not low <= number <= high:  # also rejects NaN
        raise InvalidPropertyError(
            f"{name} {shown(value)} is out of range: use a number from {low:g} to {high:g}{hint}."
        )
    return number
