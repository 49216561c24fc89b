"""The one response to CloudFormation: its body kept within the 4096-byte limit, and its delivery to
the pre-signed ResponseURL, reliably.

The ids and the change summary always stay in the body; outputs are added in the record's order
while they fit, and any left out are named in the answer's `OutputsLeftOut` attribute and in the
log (their values are not: outputs may be sensitive). crhelper's sender counts any HTTP status as
delivered and retries forever on exceptions (docs/facts.md#crhelpers-defects); here only a 2xx
counts, failures are retried with exponential backoff until a deadline, and neither the URL nor
the body is ever logged: the URL is a credential.
"""

from __future__ import annotations

import http.client
import json
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.properties.resource import OUTPUTS_LEFT_OUT, REQUIRED_DATA_KEYS
from sc_plan_provider.steps.context import MAX_REASON_CHARS
from sc_plan_provider.waiting.waiter import Sleep, real_sleep

FIRST_RETRY_DELAY_SECONDS = 0.5
MAX_RETRY_DELAY_SECONDS = 8.0
REQUEST_TIMEOUT_SECONDS = 10.0


class DeliveryError(Exception):
    """The response could not be delivered before the deadline."""


def put_response(
    response_url: str,
    body: bytes,
    *,
    give_up_at: float,
    sleep: Sleep = real_sleep,
) -> int:
    """PUT the body until a 2xx answers; return the number of attempts. `give_up_at` is monotonic."""
    delay = FIRST_RETRY_DELAY_SECONDS
    attempt = 0
    while True:
        attempt += 1
        try:
            status = _put(
                response_url, body, timeout=max(1.0, min(REQUEST_TIMEOUT_SECONDS, give_up_at - time.monotonic()))
            )
            if 200 <= status < 300:
                logger.info("Response delivered", extra={"http_status": status, "attempts": attempt})
                return attempt
            problem = f"HTTP {status}"
        except (OSError, http.client.HTTPException) as error:  # ssl.SSLError is an OSError
            problem = f"{type(error).__name__}: {error}"
        if time.monotonic() + delay > give_up_at:
            raise DeliveryError(f"response not delivered after {attempt} attempts, last: {problem}")
        logger.warning("Response delivery failed, retrying", extra={"problem": problem, "attempt": attempt})
        sleep(delay)
        delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)


def _put(response_url: str, body: bytes, *, timeout: float) -> int:
    """One PUT with an empty Content-Type, as the pre-signed S3 URL's signature expects."""
    parts = urlsplit(response_url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPSConnection(parts.netloc, timeout=timeout, context=ssl.create_default_context())
    try:
        connection.request("PUT", path, body=body, headers={"Content-Type": "", "Content-Length": str(len(body))})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


MAX_RESPONSE_BYTES = 4096
TRUNCATED = " ...(truncated)"
MAX_LEFT_OUT_CHARS = 1000


def encode(body: dict[str, Any]) -> bytes:
    """UTF-8 JSON: a reason in Japanese or with accents costs its UTF-8 bytes (not six per
    character, as \\u escapes would), and CloudFormation's limit counts bytes."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


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
