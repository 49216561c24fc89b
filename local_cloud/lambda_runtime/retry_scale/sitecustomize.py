"""Scales the function's botocore retry delays by ``LOCAL_CLOUD_RETRY_DELAY_SCALE``.

Put on an execution environment's ``PYTHONPATH`` by ``LocalCloud(retry_delay_scale=...)`` only (the
fault sweep), so that a throttle lasting past the clients' 11 attempts reaches the handler in a
fraction of the minute botocore's standard mode would sleep: every attempt is still made, in the
same order, and fails the same way; only the jittered sleeps between them
(``botocore/retries/standard.py``, ``ExponentialBackoff.delay_amount``) are shorter. Python imports
``sitecustomize`` while starting (the ``site`` module), before awslambdaric loads the handler.
"""

from __future__ import annotations

import os
from typing import Any

SCALE_ENV_VAR = "LOCAL_CLOUD_RETRY_DELAY_SCALE"


def _install(scale: float) -> None:
    from botocore.retries import standard

    original = standard.ExponentialBackoff.delay_amount

    def scaled(self: standard.ExponentialBackoff, context: Any) -> float:
        return float(original(self, context)) * scale

    standard.ExponentialBackoff.delay_amount = scaled  # type: ignore[method-assign]


_scale = os.environ.get(SCALE_ENV_VAR)
if _scale:
    _install(float(_scale))
