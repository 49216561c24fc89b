"""Record status function and waiter: polls DescribeRecord until SUCCEEDED or FAILED.

IN_PROGRESS_IN_ERROR is not terminal: Service Catalog is rolling back and FAILED is coming.
With `learn`, the first poll's record says what to learn from (its type, product and creation
time): the schedule follows the durations of earlier records and is anchored at the record's
creation, so a continued invocation keeps polling at the same moments.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.servicecatalog.calls import NotFoundError, Record, ServiceCatalog, TransientError
from sc_plan_provider.servicecatalog.history import past_durations
from sc_plan_provider.waiting.deadline import Deadline
from sc_plan_provider.waiting.policy import PollingPolicy
from sc_plan_provider.waiting.schedule import PollSchedule
from sc_plan_provider.waiting.visibility import NotVisibleYetError, fresh
from sc_plan_provider.waiting.waiter import wait_until

RECORD_SUCCEEDED = "SUCCEEDED"
RECORD_FAILED = "FAILED"
TERMINAL_RECORD_STATUSES = frozenset({RECORD_SUCCEEDED, RECORD_FAILED})
# A record the provider just created may not be visible yet for this long (eventual consistency).
RECORD_VISIBILITY_SECONDS = 30.0
# The first poll, which decides what the schedule learns from, is retried this soon when not answered.
FIRST_POLL_RETRY_SECONDS = (0.2, 0.5, 1.0)


def wait_for_record(
    service_catalog: ServiceCatalog,
    record_id: str,
    *,
    policy: PollingPolicy,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
    learn: bool = False,
) -> Record:
    """Return the record once terminal; its first page of outputs comes with it."""
    last_status: list[str] = []
    visible_after = time.monotonic() + RECORD_VISIBILITY_SECONDS

    def poll() -> Record:
        try:
            record = service_catalog.describe_record(record_id)
        except NotFoundError as error:
            if time.monotonic() < visible_after:
                raise NotVisibleYetError(str(error)) from error
            raise
        if not last_status or last_status[-1] != record.status:
            logger.info("Record status", extra={"record_id": record_id, "record_status": record.status})
            last_status.append(record.status)
        return record

    first: Record | None = None
    schedule: PollSchedule | None = None
    anchor: float | None = None
    if learn:
        try:
            # A record just created may not be visible for a read or two: its first state, to learn from.
            first = fresh(poll, sleep=sleep, delays=FIRST_POLL_RETRY_SECONDS)
        except TransientError:
            logger.info("First poll not answered; polling by the policy", extra={"record_id": record_id})
        if first is not None and first.status not in TERMINAL_RECORD_STATUSES:
            schedule = PollSchedule(policy, past_durations(service_catalog, first))
            anchor = _monotonic_of(first.created_time)
    return wait_until(
        poll,
        lambda record: record.status in TERMINAL_RECORD_STATUSES,
        describe=lambda record: record.status,
        what=f"Service Catalog record {record_id}",
        policy=policy,
        deadline=deadline,
        sleep=sleep,
        schedule=schedule,
        anchor=anchor,
        initial=first,
    )


def _monotonic_of(created_time: float | None) -> float | None:
    """The record's creation on this invocation's monotonic clock (never in the future)."""
    if created_time is None:
        return None
    return time.monotonic() - max(0.0, time.time() - created_time)


def describe_errors(record: Record) -> str:
    """Record errors as one line for a FAILED reason."""
    if not record.errors:
        return "no error details were given"
    return "; ".join(f"{error.code}: {error.description}" for error in record.errors)
