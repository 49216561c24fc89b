"""The response body CloudFormation receives, kept within its 4096-byte limit.

The ids and the change summary always stay; outputs are added in the record's order while they fit, and any left out
are named in the log (their values are not: outputs may be sensitive).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sc_plan_provider.steps.gate import SUMMARY_KEYS

if TYPE_CHECKING:
    from sc_plan_provider.servicecatalog.calls import Record

MAX_RESPONSE_BYTES = 4096
# CloudFormation shows the reason in stack events; a long one would crowd out the data.
MAX_REASON_CHARS = 1000
TRUNCATED = " ...(truncated)"
PROVISIONED_PRODUCT_ID = "ProvisionedProductId"
RECORD_ID = "RecordId"
# What the record applied (a spec's names resolved): the catalog product, its version, the launch path.
CATALOG_IDS = ("ProductId", "ProvisioningArtifactId", "PathId")
OUTPUT_PREFIX = "Outputs."
# The ids and the change summary always stay (they are small); outputs fill the rest.
REQUIRED_DATA_KEYS = (PROVISIONED_PRODUCT_ID, RECORD_ID, *CATALOG_IDS, *SUMMARY_KEYS)


def answer_data(
    product_id: str, record: Record, outputs: list[tuple[str, str]], summary: Mapping[str, str]
) -> dict[str, str]:
    data = {PROVISIONED_PRODUCT_ID: product_id, RECORD_ID: record.record_id, **summary}
    ids = (record.product_id, record.provisioning_artifact_id, record.path_id)
    data.update((key, value) for key, value in zip(CATALOG_IDS, ids, strict=True) if value)
    data.update((f"{OUTPUT_PREFIX}{key}", value) for key, value in outputs)
    return data


def encode(body: dict[str, Any]) -> bytes:
    """UTF-8 JSON: a reason in Japanese or with accents costs its UTF-8 bytes (not six per
    character, as \\u escapes would), and CloudFormation's limit counts bytes."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def fit_response(body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return a body that encodes to at most 4096 bytes and the Data keys left out."""
    reason = str(body.get("Reason", ""))
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - len(TRUNCATED)] + TRUNCATED
    data: dict[str, Any] = body.get("Data") or {}
    fitted = {**body, "Reason": reason, "Data": {k: data[k] for k in REQUIRED_DATA_KEYS if k in data}}
    left_out: list[str] = []
    size = len(encode(fitted))
    for key, value in data.items():
        if key in REQUIRED_DATA_KEYS:
            continue
        # Adding one entry adds its encoded key/value plus a comma.
        entry = len(encode({key: value})) - 2 + 1
        if size + entry <= MAX_RESPONSE_BYTES:
            fitted["Data"][key] = value
            size += entry
        else:
            left_out.append(key)
    if size > MAX_RESPONSE_BYTES:  # only a huge reason (or id) gets here: cut it to fit, by bytes
        fitted["Reason"] = _cut(reason, len(encode({**fitted, "Reason": ""})))
    return fitted, left_out


def _cut(reason: str, rest_bytes: int) -> str:
    """The longest start of the reason (whole characters) that, with the marker, fits beside the rest."""
    budget = MAX_RESPONSE_BYTES - rest_bytes - len(encode({"": TRUNCATED})) + len(encode({"": ""}))
    low, high = 0, len(reason)
    while low < high:  # the longest prefix whose escaped JSON text fits the budget
        middle = (low + high + 1) // 2
        if len(encode({"": reason[:middle]})) - len(encode({"": ""})) <= budget:
            low = middle
        else:
            high = middle - 1
    return reason[:low] + TRUNCATED
