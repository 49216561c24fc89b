"""Record status function and waiter: polls DescribeRecord until SUCCEEDED or FAILED.

IN_PROGRESS_IN_ERROR is not terminal: Service Catalog is rolling back and FAILED is coming.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sc_plan_provider.deadline import Deadline
from sc_plan_provider.polling_policy import PollingPolicy
from sc_plan_provider.service_catalog import Record, ServiceCatalog
from sc_plan_provider.telemetry import logger
from sc_plan_provider.waiter import wait_until

RECORD_SUCCEEDED = "SUCCEEDED"
RECORD_FAILED = "FAILED"
TERMINAL_RECORD_STATUSES = frozenset({RECORD_SUCCEEDED, RECORD_FAILED})


def wait_for_record(
    service_catalog: ServiceCatalog,
    record_id: str,
    *,
    policy: PollingPolicy,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
) -> Record:
    """Return the record once terminal; its first page of outputs comes with it."""
    last_status: list[str] = []

    def poll() -> Record:
        record = service_catalog.describe_record(record_id)
        if not last_status or last_status[-1] != record.status:
            logger.info("Record status", extra={"record_id": record_id, "record_status": record.status})
            last_status.append(record.status)
        return record

    return wait_until(
        poll,
        lambda record: record.status in TERMINAL_RECORD_STATUSES,
        describe=lambda record: record.status,
        what=f"Service Catalog record {record_id}",
        policy=policy,
        deadline=deadline,
        sleep=sleep,
    )


def describe_errors(record: Record) -> str:
    """Record errors as one line for a FAILED reason."""
    if not record.errors:
        return "no error details were given"
    return "; ".join(f"{error.code}: {error.description}" for error in record.errors)
