"""The Step Functions-style retry policy that paces every wait on Service Catalog.

Kept free of boto3 and Powertools so the CDK construct can import the same defaults and limits
when it validates its props at synth time.
"""

from __future__ import annotations

from collections.abc import Iterator

from sc_plan_provider.core.value import Value

# Defaults chosen so that (with the waiter's deadline) a provisioning of up to a minute is reported
# within ~2 s median and never more than 10 s late (the interval at 60 s is ~7 s), while a
# 10-minute provisioning costs fewer than 60 DescribeRecord calls (the interval caps at 30 s).
DEFAULT_INTERVAL_SECONDS = 1.0
DEFAULT_BACKOFF_RATE = 1.1
DEFAULT_MAX_INTERVAL_SECONDS = 30.0

MIN_INTERVAL_SECONDS = 0.1
MAX_INTERVAL_SECONDS = 300.0
MIN_BACKOFF_RATE = 1.0
MAX_BACKOFF_RATE = 10.0
MAX_MAX_INTERVAL_SECONDS = 900.0


class PollingPolicy(Value):
    """First interval, backoff rate and maximum interval, as in a Step Functions `Retry` block."""

    interval_seconds: float = DEFAULT_INTERVAL_SECONDS
    backoff_rate: float = DEFAULT_BACKOFF_RATE
    max_interval_seconds: float = DEFAULT_MAX_INTERVAL_SECONDS

    def intervals(self) -> Iterator[float]:
        """Yield the wait before each poll: interval x rate^n, never above the maximum interval."""
        interval = self.interval_seconds
        while True:
            yield min(interval, self.max_interval_seconds)
            interval = min(interval * self.backoff_rate, self.max_interval_seconds)
