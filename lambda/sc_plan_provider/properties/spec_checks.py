"""The checks of a product spec's properties, with botocore's limits (CreateProvisionedProductPlan's
and, for names, DescribeProduct's input shapes); every failure names the property and what is
allowed. Loaded only for a resource that declares a spec: a plan-mode request never pays for it.
"""

from __future__ import annotations

from string import ascii_letters, ascii_lowercase, digits
from typing import TYPE_CHECKING, Any, TypeGuard

from sc_plan_provider.properties.spec import (
    MAX_NOTIFICATION_ARNS,
    MAX_PARAMETER_KEY,
    MAX_PARAMETER_VALUE,
    MAX_TAG_KEY,
    MAX_TAG_VALUE,
    MAX_TAGS,
    TAG_PUNCTUATION,
    ProductSpec,
)
from sc_plan_provider.properties.spec_properties import (
    NOTIFICATION_ARNS,
    PATH_ID,
    PATH_NAME,
    PRODUCT_ID,
    PRODUCT_NAME,
    PROVISIONED_PRODUCT_NAME,
    PROVISIONING_ARTIFACT_ID,
    PROVISIONING_ARTIFACT_NAME,
    PROVISIONING_PARAMETERS,
    TAGS,
    given,
)
from sc_plan_provider.properties.values import InvalidPropertyError, is_id, shown

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_NAME_CHARS = 128
MAX_ARN_RESOURCE_CHARS = 1024
MAX_ARN_CHARS = 1224
MAX_ARN_PART_CHARS = 63
NAME_CHARS = frozenset(ascii_letters + digits + "._-")
ARN_PART_CHARS = frozenset(ascii_lowercase + digits + "-.")
# (id property, name property, longest name): botocore's shapes of the names DescribeProduct and
# ProvisionProduct take (ProductViewName, ProvisioningArtifactName, PortfolioDisplayName).
PRODUCT = (PRODUCT_ID, PRODUCT_NAME, 8191)
ARTIFACT = (PROVISIONING_ARTIFACT_ID, PROVISIONING_ARTIFACT_NAME, 8192)
PATH = (PATH_ID, PATH_NAME, 100)
SPEC_SHAPE = (
    f"A spec needs {PRODUCT_ID} (or {PRODUCT_NAME}), {PROVISIONING_ARTIFACT_ID} (or {PROVISIONING_ARTIFACT_NAME}) "
    f"and {PROVISIONED_PRODUCT_NAME}, optionally {PATH_ID} (or {PATH_NAME}), {PROVISIONING_PARAMETERS}, {TAGS}, "
    f"{NOTIFICATION_ARNS}."
)


def parse_product_spec(raw: Mapping[str, Any]) -> ProductSpec:
    """The spec of `ResourceProperties`, every property checked (the caller knows a spec is declared)."""
    for id_name, name_name, _ in (PRODUCT, ARTIFACT, PATH):
        if given(raw.get(id_name)) and given(raw.get(name_name)):
            raise InvalidPropertyError(
                f"{id_name} and {name_name} are both given: give exactly one (the id, or the name that is "
                f"resolved to it at deploy time). {SPEC_SHAPE}"
            )
    missing = [f"{i} (or {n})" for i, n, _ in (PRODUCT, ARTIFACT) if not (given(raw.get(i)) or given(raw.get(n)))]
    if not given(raw.get(PROVISIONED_PRODUCT_NAME)):
        missing.append(PROVISIONED_PRODUCT_NAME)
    if missing:
        raise InvalidPropertyError(
            f"The product spec is incomplete: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
            f"missing. {SPEC_SHAPE}"
        )
    product_id, product_name = _id_or_name(raw, PRODUCT)
    artifact_id, artifact_name = _id_or_name(raw, ARTIFACT)
    path_id, path_name = _id_or_name(raw, PATH)
    return ProductSpec(
        product_id=product_id or "",
        provisioning_artifact_id=artifact_id or "",
        provisioned_product_name=_name(raw[PROVISIONED_PRODUCT_NAME]),
        path_id=path_id,
        parameters=_parameters(raw.get(PROVISIONING_PARAMETERS)),
        tags=_tags(raw.get(TAGS)),
        notification_arns=_notification_arns(raw.get(NOTIFICATION_ARNS)),
        product_name=product_name,
        provisioning_artifact_name=artifact_name,
        path_name=path_name,
    )


def _id_or_name(raw: Mapping[str, Any], pair: tuple[str, str, int]) -> tuple[str | None, str | None]:
    """(id, None), (None, name) or, for a pair not given, (None, None); each value checked."""
    id_name, name_name, longest = pair
    if given(raw.get(id_name)):
        return _id(raw, id_name), None
    value = raw.get(name_name)
    if not given(value):
        return None, None
    if not isinstance(value, str) or len(value) > longest or not value.strip():
        raise InvalidPropertyError(
            f"{name_name} {shown(value)} is not a name Service Catalog takes: use 1-{longest} characters, "
            f"as shown in the console (or give {id_name} instead)."
        )
    return None, value


def _id(raw: Mapping[str, Any], name: str) -> str:
    value = raw[name]
    if not is_id(value):
        raise InvalidPropertyError(
            f"{name} {shown(value)} is not a Service Catalog id: use 1-100 letters, digits, '_' or '-' "
            "(for example prod-abc123 or pa-abc123, from the product's page in the console)."
        )
    return value


def _name(value: Any) -> str:
    if not is_name(value):
        raise InvalidPropertyError(
            f"{PROVISIONED_PRODUCT_NAME} {shown(value)} is not allowed: use 1-128 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit; it must be unique in the account."
        )
    return value


def _key_values(value: Any, name: str) -> list[tuple[Any, Any]]:
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and set(item) == {"Key", "Value"} for item in value
    ):
        raise InvalidPropertyError(
            f"{name} must be a list of {{Key, Value}} objects, e.g. [{{Key: Size, Value: small}}]."
        )
    return [(item["Key"], item["Value"]) for item in value]


def _parameters(value: Any) -> tuple[tuple[str, str], ...]:
    if not given(value):
        return ()
    pairs = _key_values(value, PROVISIONING_PARAMETERS)
    keys = [key for key, _ in pairs]
    for key, item in pairs:
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_PARAMETER_KEY:
            raise InvalidPropertyError(
                f"{PROVISIONING_PARAMETERS}: key {shown(key)} must be 1-{MAX_PARAMETER_KEY} characters."
            )
        if not isinstance(item, str) or len(item) > MAX_PARAMETER_VALUE:
            raise InvalidPropertyError(
                f"{PROVISIONING_PARAMETERS}: the value of {key} must be a string of at most "
                f"{MAX_PARAMETER_VALUE} characters."
            )
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise InvalidPropertyError(
            f"{PROVISIONING_PARAMETERS} names {', '.join(duplicates)} more than once: give each key once."
        )
    return tuple((str(key), str(item)) for key, item in pairs)


def _tags(value: Any) -> tuple[tuple[str, str], ...]:
    if not given(value):
        return ()
    pairs = _key_values(value, TAGS)
    if len(pairs) > MAX_TAGS:
        raise InvalidPropertyError(f"{TAGS} has {len(pairs)} tags: Service Catalog takes at most {MAX_TAGS}.")
    for key, item in pairs:
        for part, limit in ((key, MAX_TAG_KEY), (item, MAX_TAG_VALUE)):
            if not isinstance(part, str) or not 1 <= len(part) <= limit or not _tag_text(part):
                raise InvalidPropertyError(
                    f"{TAGS}: {shown(part)} is not a valid tag key or value: use 1-{limit} letters, digits, "
                    "spaces or _ . : / = + - @."
                )
    return tuple((str(key), str(item)) for key, item in pairs)


def _tag_text(text: str) -> bool:
    return all(ch.isalnum() or ch.isspace() or ch in TAG_PUNCTUATION for ch in text)


def _notification_arns(value: Any) -> tuple[str, ...]:
    if not given(value):
        return ()
    if not isinstance(value, list) or len(value) > MAX_NOTIFICATION_ARNS:
        raise InvalidPropertyError(
            f"{NOTIFICATION_ARNS} must be a list of at most {MAX_NOTIFICATION_ARNS} SNS topic ARNs."
        )
    for arn in value:
        if not is_arn(arn):
            raise InvalidPropertyError(f"{NOTIFICATION_ARNS}: {shown(arn)} is not an SNS topic ARN.")
    return tuple(value)


def is_name(value: Any) -> TypeGuard[str]:
    """A provisioned product name: 1-128 of letters, digits, '.', '_' and '-', not starting with punctuation."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_NAME_CHARS
        and value[0].isascii()
        and value[0].isalnum()
        and set(value) <= NAME_CHARS
    )


def is_arn(value: Any) -> TypeGuard[str]:
    """arn:partition:service:region:account:resource, as Service Catalog's NotificationArns accept."""
    if not isinstance(value, str) or len(value) > MAX_ARN_CHARS:
        return False
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1]:
        return False
    resource = parts[5]
    return (
        all(len(part) <= MAX_ARN_PART_CHARS and set(part) <= ARN_PART_CHARS for part in parts[1:5])
        and 0 < len(resource) <= MAX_ARN_RESOURCE_CHARS
        and not resource.startswith("/")
        and "\n" not in resource[1:]
    )
