"""Reads as the real service answers them: eventually consistent, and transiently unavailable.

Right after a write, Service Catalog can answer ResourceNotFoundException for the new record, plan
or product, or show a stale status (terraform-provider-aws's servicecatalog waiters retry
ResourceNotFound after writes and need several not-found reads before they believe a product is
gone: `internal/service/servicecatalog/wait.go`). So a read that must find something is retried a
bounded number of times, and a product counts as gone only when TerminateProvisionedProduct says
so or when it is not found by reads at least two seconds apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.servicecatalog.calls import NotFoundError, ProvisionedProduct, ServiceCatalog, TransientError

T = TypeVar("T")

# Waits between attempts of a read that must find what was just written (7.7 s in all): the
# first retry at once (another replica may answer, and every answer waits for it), then backing off.
RETRY_DELAYS_SECONDS = (0.0, 0.2, 0.5, 1.0, 2.0, 4.0)
# A product's status after a record is believed once a read shows that record as its last one and
# no change under way; reads this far apart, at most this many (a read right after a record ends
# may still show the product from before it); the first re-read at once.
STATUS_READ_INTERVAL_SECONDS = 0.1
MAX_STATUS_READS = 20
TRANSITIONAL_PRODUCT_STATUSES = frozenset({"UNDER_CHANGE", "PLAN_IN_PROGRESS"})


class NotVisibleYetError(TransientError):
    """Not found, but just written: try again (a poll simply tries again at its next moment)."""


def fresh(
    read: Callable[[], T],
    *,
    sleep: Callable[[float], None] = time.sleep,
    delays: tuple[float, ...] = RETRY_DELAYS_SECONDS,
) -> T:
    """`read()`, retried while it answers not found or a transient error; the last error is raised."""
    for delay in delays:
        try:
            return read()
        except (NotFoundError, TransientError) as error:
            logger.info("Read not answered yet; retrying", extra={"error": type(error).__name__, "delay": delay})
            sleep(delay)
    return read()


def visible_product(
    service_catalog: ServiceCatalog,
    provisioned_product_id: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    delays: tuple[float, ...] = RETRY_DELAYS_SECONDS,
) -> ProvisionedProduct | None:
    """The product, looked for a few times (just created or changed, it may not be visible yet);
    None when it is still not found. Never a proof that it is gone: see `cleanup.product_gone`."""

    def read() -> ProvisionedProduct:
        product = service_catalog.describe_product(provisioned_product_id)
        if product is None:
            raise NotFoundError(f"Provisioned product {provisioned_product_id} not found", "ResourceNotFoundException")
        return product

    try:
        return fresh(read, sleep=sleep, delays=delays)
    except NotFoundError:
        return None


def settled_product(
    service_catalog: ServiceCatalog,
    provisioned_product_id: str,
    *,
    after_record: str,
    sleep: Callable[[float], None] = time.sleep,
) -> ProvisionedProduct | None:
    """The product as `after_record` left it: a read that shows that record as the product's last
    one, and no change under way. A stale read (the product from before the record, as the real
    service answers for a moment after a write) shows another last record, or a change still under
    way, and is read again. None when it is not found; the last read when none ever settles."""
    product = visible_product(service_catalog, provisioned_product_id, sleep=sleep)
    for attempt in range(MAX_STATUS_READS):
        if product is None or (
            after_record in (product.last_record_id, product.last_provisioning_record_id)
            and product.status not in TRANSITIONAL_PRODUCT_STATUSES
        ):
            return product
        if attempt:
            sleep(STATUS_READ_INTERVAL_SECONDS)
        product = visible_product(service_catalog, provisioned_product_id, sleep=sleep)
    return product
