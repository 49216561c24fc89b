"""The one response to CloudFormation: its body kept within the 4096-byte limit, and its delivery to
the pre-signed ResponseURL, reliably.

A body over the limit is fitted by fitting.py (outputs left out are named in the answer's
`OutputsLeftOut` attribute). crhelper's sender counts any HTTP status as
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


def encode(body: dict[str, Any]) -> bytes:
    """UTF-8 JSON: a reason in Japanese or with accents costs its UTF-8 bytes (not six per
    character, as \\u escapes would), and CloudFormation's limit counts bytes."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def encoded_as_is(body: dict[str, Any]) -> bytes | None:
    """The body encoded, when it needs no fitting (nearly every answer); None when its reason is over
    MAX_REASON_CHARS or it is over 4096 bytes: fitting.py then fits it."""
    if len(str(body.get("Reason", ""))) > MAX_REASON_CHARS:
        return None
    encoded = encode(body)
    return encoded if len(encoded) <= MAX_RESPONSE_BYTES else None
