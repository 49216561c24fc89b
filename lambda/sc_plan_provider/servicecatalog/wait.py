"""Every wait on Service Catalog, with all its settings in one block (as Terraform's servicecatalog
`wait.go`): plans until they settle, records until they end, reads of something just written,
products until they are gone.

The service is eventually consistent (docs/facts.md#eventual-consistency): right after a write a
read may not find the new record, plan or product, or show it as it was before. Each read below
says, with a `Visibility` (waiting/visibility.py), how long "not found" may mean "not visible yet";
each poll follows the resource's `PollingPolicy`. A product is gone only when reads seconds apart
do not find it (PRODUCT_GONE, steps/terminate.py): a read that cannot find it right now is never
taken for a terminated product. The rarer paths' reads use these settings where they run
(steps/recovery.py, steps/terminate.py, steps/spec_plans.py).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypeVar

from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.servicecatalog.calls import NotFoundError
from sc_plan_provider.servicecatalog.shapes import (
    PLAN_CREATE_IN_PROGRESS,
    PROVISION_PRODUCT,
    RECORD_SUCCEEDED,
    TERMINAL_RECORD_STATUSES,
    UPDATE_PROVISIONED_PRODUCT,
    PastRecord,
    Plan,
    ProvisionedProduct,
    Record,
    is_settled_after,
)
from sc_plan_provider.waiting.policy import PollSchedule
from sc_plan_provider.waiting.visibility import Sightings, Visibility, find, settle
from sc_plan_provider.waiting.waiter import RetryableError, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable

    from sc_plan_provider.servicecatalog.calls import ServiceCatalog
    from sc_plan_provider.waiting.deadline import Deadline
    from sc_plan_provider.waiting.policy import PollingPolicy
    from sc_plan_provider.waiting.waiter import Sleep

T = TypeVar("T")

# --- Every wait on Service Catalog --------------------------------------------------------------
# A plan id from the template counts as not found only after 2 s and 3 reads (under throttling one
# read alone can outlast the window); a plan the provider just created after 30 s.
PLAN_ID_VISIBILITY = Visibility(min_reads=3, window_seconds=2.0)
NEW_PLAN_VISIBILITY = Visibility(min_reads=3, window_seconds=30.0)
# A record the provider just created may not be visible for 30 s.
NEW_RECORD_VISIBILITY = Visibility(window_seconds=30.0)
# A read that must find what was just written: the first retry at once (another replica may
# answer, and every answer waits for it), then backing off; 7.7 s in all.
JUST_WRITTEN = Visibility(min_reads=7, waits=(0.0, 0.2, 0.5, 1.0, 2.0, 4.0))
# A plan a pipeline just created, read by the review command before its approval step.
REVIEWED_PLAN_VISIBILITY = Visibility(min_reads=4, waits=(0.5, 1.0, 2.0))
# A record's first poll (what learned polling learns from) is retried this soon when not answered.
FIRST_POLL = Visibility(min_reads=4, waits=(0.2, 0.5, 1.0))
# The placeholder product an unexecuted plan leaves, looked for before it counts as gone with it.
PLACEHOLDER_VISIBILITY = Visibility(min_reads=3, waits=(0.5, 1.0))
# A product's status after a record, read at once and then 0.1 s apart, at most 21 times, until a
# read shows that record as its last and no change under way (a read right after a record ends may
# still show the product from before it).
STATUS_AFTER_RECORD = Visibility(min_reads=21, waits=(0.0, 0.1))
# A plan that still reads CREATE_SUCCESS after a refused execute is read again after these waits.
STATUS_AFTER_EXECUTE = Visibility(min_reads=4, waits=(0.3, 1.0, 2.0))
# The drift check reads products provisioned long before: one the service does not find at first
# (another replica) is read twice more before it counts as DELETED.
ESTABLISHED_PRODUCT = Visibility(min_reads=3, waits=(0.2, 0.5))
# A product is gone when it was not found, then not found by three more reads 0 s, 2 s and 2 s later.
PRODUCT_GONE = Visibility(min_reads=4, waits=(0.0, 2.0))
# A plan delete answered not found is believed when a read 1 s later finds no plan either; the
# delete is tried at most this often.
PLAN_GONE = Visibility(min_reads=2, waits=(1.0,))
PLAN_DELETE_ATTEMPTS = 3
# Before looking again at a product another record is changing.
BUSY_PRODUCT_PAUSE_SECONDS = 2.0
# The record history is one or two ListRecordHistory calls; a second look-up only within this budget.
HISTORY_LOOKUP_BUDGET_SECONDS = 3.0
# ------------------------------------------------------------------------------------------------


def settled_plan(
    service_catalog: ServiceCatalog,
    plan_id: str,
    *,
    policy: PollingPolicy,
    deadline: Deadline,
    sleep: Sleep,
    new: bool = False,
) -> Plan | None:
    """The plan once it is no longer CREATE_IN_PROGRESS, whatever it became; None when not found
    (believed after PLAN_ID_VISIBILITY, or NEW_PLAN_VISIBILITY for a plan the provider just made).
    DeadlineExceededError when it is still in progress at the deadline."""
    sightings = Sightings(NEW_PLAN_VISIBILITY if new else PLAN_ID_VISIBILITY)

    def poll() -> Plan:
        try:
            return service_catalog.describe_plan(plan_id)
        except NotFoundError as error:
            sightings.missing(error)
            raise

    try:
        return wait_until(
            poll,
            lambda plan: plan.status != PLAN_CREATE_IN_PROGRESS,
            describe=lambda plan: plan.status,
            what=f"PlanId {plan_id}",
            policy=policy,
            deadline=deadline,
            sleep=sleep,
        )
    except NotFoundError:
        return None


def wait_for_record(
    service_catalog: ServiceCatalog,
    record_id: str,
    *,
    policy: PollingPolicy,
    deadline: Deadline,
    sleep: Sleep,
    learn: bool = False,
) -> Record:
    """The record once SUCCEEDED or FAILED; its first page of outputs comes with it.

    With `learn`, the first poll's record says what to learn from (its type, product and creation
    time): the schedule follows the durations of earlier records and is anchored at the record's
    creation, so a continued invocation keeps polling at the same moments.
    """
    last_status: list[str] = []
    sightings = Sightings(NEW_RECORD_VISIBILITY)

    def poll() -> Record:
        try:
            record = service_catalog.describe_record(record_id)
        except NotFoundError as error:
            sightings.missing(error)
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
            first = find(poll, FIRST_POLL, sleep=sleep)
        except RetryableError:
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


def past_durations(service_catalog: ServiceCatalog, record: Record) -> tuple[float, ...]:
    """Durations (seconds, newest first) of earlier SUCCEEDED records of the same type as `record`:
    the history the learned schedule polls by (waiting/policy.py).

    An update learns from its own provisioned product's updates, else from the product's updates;
    a new product (PROVISION_PRODUCT) from earlier launches of the same product. Anything that goes
    wrong (throttled, denied, no records, a malformed answer) yields no history, and the record is
    polled on the policy alone: the history can only make an answer cheaper or sooner.
    """
    if record.record_type == UPDATE_PROVISIONED_PRODUCT:
        searches = [("provisionedproduct", record.provisioned_product_id), ("product", record.product_id)]
    elif record.record_type == PROVISION_PRODUCT:
        searches = [("product", record.product_id)]
    else:
        return ()
    started = time.monotonic()
    for key, value in searches:
        if not value or time.monotonic() - started > HISTORY_LOOKUP_BUDGET_SECONDS:
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
        and past.status == RECORD_SUCCEEDED
        and past.duration > 0
    )


def read_after_write(read: Callable[[], T], *, sleep: Sleep, rule: Visibility = JUST_WRITTEN) -> T:
    """`read()` of something just written: retried while it answers not found or no answer, as
    `rule` says; the last error is raised."""
    return find(read, rule, sleep=sleep)


def visible_product(
    service_catalog: ServiceCatalog,
    provisioned_product_id: str,
    *,
    sleep: Sleep,
    rule: Visibility = JUST_WRITTEN,
) -> ProvisionedProduct | None:
    """The product, looked for as `rule` says (just created or changed, it may not be visible yet);
    None when it is still not found. Never a proof that it is gone: see `product_gone`."""
    try:
        return find(lambda: described_product(service_catalog, provisioned_product_id), rule, sleep=sleep)
    except NotFoundError:
        return None


def settled_product(
    service_catalog: ServiceCatalog, provisioned_product_id: str, *, after_record: str, sleep: Sleep
) -> ProvisionedProduct | None:
    """The product as `after_record` left it: a read that shows that record as the product's last
    one, and no change under way. A stale read (the product from before the record, as the real
    service answers for a moment after a write) is read again (STATUS_AFTER_RECORD). None when it is
    not found; the last read when none ever settles."""

    return settle(
        lambda: visible_product(service_catalog, provisioned_product_id, sleep=sleep),
        lambda product: is_settled_after(product, after_record),
        STATUS_AFTER_RECORD,
        sleep=sleep,
    )


def described_product(service_catalog: ServiceCatalog, provisioned_product_id: str) -> ProvisionedProduct:
    """DescribeProvisionedProduct, with a product that is not there as NotFoundError (a read that found nothing)."""
    product = service_catalog.describe_product(provisioned_product_id)
    if product is None:
        raise NotFoundError(f"Provisioned product {provisioned_product_id} not found", "ResourceNotFoundException")
    return product
