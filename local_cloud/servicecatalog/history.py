"""ListRecordHistory's filters and the timelines of seeded past records.

Access levels, simply (ListProvisionedProductPlans filters plans the same way): the emulator treats
every caller as one user in one IAM role of one account.
Each record is either "created by the caller" (everything made over the wire or by the seeding
helpers, by default) or "created by another user of the account" (``created_by_caller=False``, only
seeded). Without an AccessLevelFilter, and with ``User`` or ``Role``, a caller sees the records it
created (AWS's default is ``User``); with ``Account`` it sees all of them. The filter's Value must
be ``self`` (the only value AWS documents); for ``Account`` the account id is accepted too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from local_cloud.servicecatalog.errors import InvalidParametersException
from local_cloud.servicecatalog.model import Record

SEARCH_KEYS = ("provisionedproduct", "product")


def check_filters(
    search_key: str | None,
    search_value: str | None,
    access_key: str | None,
    access_value: str | None,
    account_id: str,
) -> None:
    """Refuse filters AWS would refuse: unknown search keys, half a filter, access values not ``self``."""
    if (search_key is None) != (search_value is None):
        raise InvalidParametersException("SearchFilter needs both a Key and a Value.")
    if search_key is not None and search_key not in SEARCH_KEYS:
        raise InvalidParametersException(
            f"SearchFilter Key {search_key!r} is not supported; use one of {', '.join(SEARCH_KEYS)}."
        )
    check_access_filter(access_key, access_value, account_id)


def check_access_filter(access_key: str | None, access_value: str | None, account_id: str) -> None:
    """Refuse an AccessLevelFilter Value other than ``self`` (or, for ``Account``, the account id)."""
    if access_key is None or access_value is None:
        return
    allowed = {"self", account_id} if access_key == "Account" else {"self"}
    if access_value.lower() not in allowed:
        raise InvalidParametersException(f"AccessLevelFilter Value {access_value!r} is not supported; use 'self'.")


def visible_records(
    records: Iterable[Record],
    *,
    search_key: str | None = None,
    search_value: str | None = None,
    access_key: str | None = None,
) -> list[Record]:
    """The records a ListRecordHistory call returns, newest first (ties: the later-made one first)."""
    chosen = []
    for index, record in enumerate(records):
        if access_key != "Account" and not record.created_by_caller:
            continue
        if search_key == "provisionedproduct" and record.provisioned_product_id != search_value:
            continue
        if search_key == "product" and record.product_id != search_value:
            continue
        chosen.append((record.created_time, index, record))
    chosen.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [record for _, _, record in chosen]


def past_windows(durations: Sequence[float], *, now: float, gap: float) -> list[tuple[float, float]]:
    """(start, end) of records that ran back to back, ``gap`` seconds apart, oldest first.

    The newest ends ``gap`` seconds before ``now``, so seeded history never overlaps the present.
    """
    if gap < 0 or any(d < 0 for d in durations):
        raise ValueError("durations and gap must not be negative")
    windows: list[tuple[float, float]] = []
    end = now - gap
    for duration in reversed(durations):
        windows.append((end - duration, end))
        end -= duration + gap
    windows.reverse()
    return windows
