"""An answer over CloudFormation's 4096 bytes, fitted: the ids and the change summary always stay;
outputs are added in the record's order while they fit, and any left out are named in the answer's
`OutputsLeftOut` attribute (their values are not logged: outputs may be sensitive); a reason too
long is cut. Loaded only for an answer that does not fit as it is (delivery.encoded_as_is).
"""

from __future__ import annotations

from typing import Any

from sc_plan_provider.properties.resource import OUTPUTS_LEFT_OUT, REQUIRED_DATA_KEYS
from sc_plan_provider.runtime.delivery import MAX_RESPONSE_BYTES, encode
from sc_plan_provider.steps.context import MAX_REASON_CHARS

TRUNCATED = " ...(truncated)"
MAX_LEFT_OUT_CHARS = 1000


def fit_response(body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return a body that encodes to at most 4096 bytes and the Data keys left out, which the body
    names in `OutputsLeftOut` (when the answer has that attribute: a successful one)."""
    reason = str(body.get("Reason", ""))
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - len(TRUNCATED)] + TRUNCATED
    data: dict[str, Any] = body.get("Data") or {}
    outputs = [(key, value) for key, value in data.items() if key not in REQUIRED_DATA_KEYS]
    left_out: list[str] = []
    while True:  # naming what is left out takes room: until no further output has to go
        fitted = {**body, "Reason": reason, "Data": {k: data[k] for k in REQUIRED_DATA_KEYS if k in data}}
        if left_out:
            fitted["Data"][OUTPUTS_LEFT_OUT] = _names(left_out)
        size = len(encode(fitted))
        more: list[str] = []
        for key, value in outputs:
            if key in left_out:
                continue
            # Adding one entry adds its encoded key/value plus a comma.
            entry = len(encode({key: value})) - 2 + 1
            if size + entry <= MAX_RESPONSE_BYTES:
                fitted["Data"][key] = value
                size += entry
            else:
                more.append(key)
        if not more:
            break
        left_out = [key for key, _value in outputs if key in left_out or key in more]
    if size > MAX_RESPONSE_BYTES:  # only a huge reason (or id) gets here: cut it to fit, by bytes
        fitted["Reason"] = _cut(reason, len(encode({**fitted, "Reason": ""})))
    return fitted, left_out


def _names(keys: list[str]) -> str:
    """The left-out attribute names, comma-separated, at most MAX_LEFT_OUT_CHARS (then how many)."""
    names = ",".join(keys)
    if len(names) <= MAX_LEFT_OUT_CHARS:
        return names
    shown = names[: MAX_LEFT_OUT_CHARS - 40].rsplit(",", 1)[0]
    return f"{shown},... ({len(keys)} in all)"


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
