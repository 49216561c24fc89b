"""How long a product's earlier provisionings took: the history the learned schedule polls by.

One or two ListRecordHistory calls, on a client bounded in time. Anything that goes wrong
(throttled, denied, no records, a malformed answer) yields no history, and the record is polled on
the policy alone: the history can only make an answer cheaper or sooner, never block or fail one.
"""

from __future__ import annotations

import time

from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.servicecatalog.calls import PastRecord, Record, ServiceCatalog

PROVISION_PRODUCT = "PROVISION_PRODUCT"
UPDATE_PROVISIONED_PRODUCT = "UPDATE_PROVISIONED_PRODUCT"
SUCCEEDED = "SUCCEEDED"
# A second look-up (by product, after an empty one by provisioned product) only within this budget.
LOOKUP_BUDGET_SECONDS = 3.0


def past_durations(service_catalog: ServiceCatalog, record: Record) -> tuple[float, ...]:
    """Durations (seconds, newest first) of earlier SUCCEEDED records of the same type as `record`.

    An update learns from its own provisioned product's updates, else from the product's updates;
    a new product (PROVISION_PRODUCT) from earlier launches of the same product.
    """
    if record.record_type == UPDATE_PROVISIONED_PRODUCT:
        searches = [("provisionedproduct", record.provisioned_product_id), ("product", record.product_id)]
    elif record.record_type == PROVISION_PRODUCT:
        searches = [("product", record.product_id)]
    else:
        return ()
    started = time.monotonic()
    for key, value in searches:
        if not value or time.monotonic() - started > LOOKUP_BUDGET_SECONDS:
            break
        try:
            history = service_catalog.list_record_history(key, value)
        except Exception as error:  # any failure means "no history": polling goes on by the policy
            logger.info("Record history unavailable; polling by the policy", extra={"error": str(error)})
            return ()
        durations = _usable(history, record)
        if durations:
            logger.info(
                "Polling learned from record history",
                extra={"search": key, "records": len(durations), "durations": [round(d, 1) for d in durations]},
            )
            return durations
    logger.info("No record history to learn from; polling by the policy")
    return ()


def _usable(history: list[PastRecord], record: Record) -> tuple[float, ...]:
    return tuple(
        past.duration
        for past in history
        if past.record_id != record.record_id
        and past.record_type == record.record_type
        and past.status == SUCCEEDED
        and past.duration > 0
    )
