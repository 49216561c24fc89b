"""Eventually consistent reads, counted in reads (rule 6 of rules.py).

The state machine tells this bookkeeping when an object is born (``created``) and just before a
write changes what a read of it shows (``changed``, with a snapshot of the old view); the read
operations then ask it what a lagging replica would answer (``read``, ``listed``). The facade's own
inspection helpers never go through here: they show the truth.
"""

from __future__ import annotations

from typing import Literal, TypeVar, cast

from local_cloud.servicecatalog.errors import ResourceNotFoundException

Kind = Literal["plan", "record", "provisioned_product"]
_T = TypeVar("_T")


class ReadConsistency:
    """Per object: how many reads still answer "not found", and how many still show an old snapshot.

    Not thread-safe on its own: the state calls it under its lock.
    """

    def __init__(self, *, not_found_reads: int = 0, stale_reads: int = 0) -> None:
        self.not_found_reads = not_found_reads
        self.stale_reads = stale_reads
        self._unseen: dict[tuple[Kind, str], int] = {}
        self._stale: dict[tuple[Kind, str], tuple[int, object]] = {}

    def reset(self, *, not_found_reads: int, stale_reads: int) -> None:
        """New counts from now on; pending lags are forgotten."""
        self.not_found_reads, self.stale_reads = not_found_reads, stale_reads
        self._unseen.clear()
        self._stale.clear()

    def created(self, kind: Kind, object_id: str) -> None:
        """A new object: its first reads will not find it."""
        if self.not_found_reads:
            self._unseen[(kind, object_id)] = self.not_found_reads

    def changed(self, kind: Kind, object_id: str, before: object) -> None:
        """A write is about to change the object: the next reads show ``before`` (a copy).

        If an earlier lag is still pending, the replica is behind both writes: it keeps showing the
        older snapshot, for the full count again.
        """
        if not self.stale_reads:
            return
        pending = self._stale.get((kind, object_id))
        self._stale[(kind, object_id)] = (self.stale_reads, pending[1] if pending else before)

    def read(self, kind: Kind, object_id: str, current: _T, missing: str) -> _T:
        """One read of an object that exists: raises "not found" (message ``missing``) while unseen,
        then returns the stale snapshot while one is pending, else ``current``."""
        key = (kind, object_id)
        left = self._unseen.get(key, 0)
        if left:
            self._consume(self._unseen, key, left)
            raise ResourceNotFoundException(missing)
        stale = self._stale.get(key)
        if stale is None:
            return current
        count, snapshot = stale
        if count <= 1:
            del self._stale[key]
        else:
            self._stale[key] = (count - 1, snapshot)
        return cast(_T, snapshot)

    def listed(self, kind: Kind, object_id: str) -> bool:
        """One list that would include the object: False (and one read used) while it is unseen."""
        key = (kind, object_id)
        left = self._unseen.get(key, 0)
        if left:
            self._consume(self._unseen, key, left)
            return False
        return True

    def lagging(self, kind: Kind, object_id: str) -> bool:
        """Whether a read of an object now gone would still find its old snapshot."""
        return (kind, object_id) in self._stale

    @staticmethod
    def _consume(counts: dict[tuple[Kind, str], int], key: tuple[Kind, str], left: int) -> None:
        if left <= 1:
            del counts[key]
        else:
            counts[key] = left - 1
