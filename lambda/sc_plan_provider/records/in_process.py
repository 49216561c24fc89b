"""The provider's records without their DynamoDB tables: within one warm execution environment.

A provider deployed by hand without the tables still works, with de-duplication and owner records
only inside one execution environment, and without continuation (nothing survives an invocation).
The construct and the packaged template always create the tables; this module loads only when
they are missing (and in tests that swap the edges).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from sc_plan_provider.core.value import replace
from sc_plan_provider.records.ledger import (
    SENDING,
    SENT,
    AnswerClaim,
    Arrival,
    ClaimedAnswer,
    latest_request_key,
    request_key,
)
from sc_plan_provider.records.owners import AppliedPlan, Owner, OwnerClaim

if TYPE_CHECKING:
    from sc_plan_provider.core.request import PlanRequest


class InProcessOwnerRegistry:
    """Without the table (a provider deployed by hand): records live within one warm execution
    environment only. The construct and the packaged template always create the table."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: dict[str, tuple[Owner, str]] = {}
        self._applied: dict[str, set[str]] = {}
        self._plans: dict[str, AppliedPlan] = {}
        self._restores: dict[str, tuple[float, set[str]]] = {}  # plan id -> (last restore, its records)
        self._abandoned: dict[Owner, set[str]] = {}

    def owner(self, provisioned_product_id: str) -> Owner | None:
        with self._lock:
            found = self._owners.get(provisioned_product_id)
            return found[0] if found else None

    def claim(self, provisioned_product_id: str, owner: Owner, request_key: str) -> OwnerClaim:
        with self._lock:
            found = self._owners.get(provisioned_product_id)
            if found is None:
                self._owners[provisioned_product_id] = (owner, request_key)
                return OwnerClaim(owner, new=True)
            return OwnerClaim(found[0])

    def release(self, provisioned_product_id: str, owner: Owner, request_key: str) -> None:
        with self._lock:
            if self._owners.get(provisioned_product_id) == (owner, request_key):
                del self._owners[provisioned_product_id]

    def owned(self, limit: int) -> list[tuple[str, Owner]]:
        """Every owner on record (terminated products included: this registry does not mark them)."""
        with self._lock:
            return [(product_id, owner) for product_id, (owner, _request) in self._owners.items()][:limit]

    def terminated(self, provisioned_product_id: str, owner: Owner) -> None:
        """Kept: a product id is never reused."""

    def spec_applied(self, provisioned_product_id: str, owner: Owner, digest: str) -> None:
        with self._lock:
            found = self._owners.get(provisioned_product_id)
            if found is not None and found[0] == owner:
                self._applied.setdefault(provisioned_product_id, set()).add(digest)

    def applied_specs(self, provisioned_product_id: str) -> frozenset[str]:
        with self._lock:
            return frozenset(self._applied.get(provisioned_product_id, ()))

    def intend_to_execute(self, applied: AppliedPlan) -> AppliedPlan:
        with self._lock:
            found = self._plans.get(applied.plan_id)
            if found is None or found.executing_request == applied.executing_request or not found.record_id:
                self._plans[applied.plan_id] = applied
                return applied
            return found

    def executed(self, plan_id: str, request_key: str, record_id: str, executed_at: float | None) -> None:
        with self._lock:
            found = self._plans.get(plan_id)
            if found is not None and found.executing_request == request_key:
                self._plans[plan_id] = replace(found, record_id=record_id, executed_at=executed_at)

    def applied_plan(self, plan_id: str) -> AppliedPlan | None:
        with self._lock:
            return self._plans.get(plan_id)

    def restored(self, plan_id: str, record_id: str) -> None:
        with self._lock:
            _at, records = self._restores.get(plan_id, (0.0, set()))
            self._restores[plan_id] = (time.time(), {*records, record_id})

    def executed_plans(self) -> list[tuple[AppliedPlan, float, frozenset[str]]]:
        with self._lock:
            found = []
            for plan_id, applied in self._plans.items():
                if not applied.record_id:
                    continue
                restored_at, records = self._restores.get(plan_id, (0.0, set()))
                found.append((applied, max(applied.executed_at or 0.0, restored_at), frozenset(records)))
            return found

    def abandon(self, owner: Owner, provisioned_product_id: str) -> None:
        with self._lock:
            self._abandoned.setdefault(owner, set()).add(provisioned_product_id)

    def abandoned(self, owner: Owner) -> frozenset[str]:
        with self._lock:
            return frozenset(self._abandoned.get(owner, ()))

    def forget_abandoned(self, owner: Owner, provisioned_product_id: str) -> None:
        with self._lock:
            self._abandoned.get(owner, set()).discard(provisioned_product_id)


class InProcessLedger:
    """Without the table (a provider deployed by hand): dedupes within one warm environment only,
    and cannot carry a request across invocations, so continuation is off."""

    durable = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first_seen: dict[str, float] = {}
        self._answers: dict[str, tuple[str, str, str]] = {}  # request key -> (state, holder, body)
        self._latest: dict[str, tuple[str, float]] = {}  # resource key -> (request key, first seen)
        self._cleanups: dict[str, str] = {}
        self._terminating: dict[str, tuple[str, str]] = {}  # request key -> (product, terminate record)
        self._digests: dict[str, str] = {}

    def arrive(self, request: PlanRequest, holder: str, first_seen: float | None = None, digest: str = "") -> Arrival:
        with self._lock:
            key = request_key(request)
            self._digests.setdefault(key, digest)
            now = time.time()
            first = min(self._first_seen.setdefault(key, now), now if first_seen is None else first_seen)
            latest = self._latest.get(latest_request_key(request))
            superseded = latest is not None and latest[0] != key and latest[1] >= first
            if not superseded:
                self._latest[latest_request_key(request)] = (key, first)
            state = self._answers.get(key)
            answered = state is not None and (state[0] == SENT or state[1] != holder)
            claimed = state[2] if state is not None and state[:2] == (SENDING, holder) else ""
            return Arrival(first, answered, superseded and not claimed, claimed)

    def handed_over(self, request: PlanRequest, hop: int) -> None:
        """Nothing to record: without the table a request is never handed over."""

    def event_digest(self, request: PlanRequest) -> str | None:
        with self._lock:
            return self._digests.get(request_key(request)) or None

    def claim_answer(self, request: PlanRequest, holder: str, body: str) -> ClaimedAnswer:
        with self._lock:
            key = request_key(request)
            state = self._answers.get(key)
            if state is not None and state[0] == SENT:
                return ClaimedAnswer(AnswerClaim.ANSWERED)
            if state is not None and state[1] != holder:
                return ClaimedAnswer(AnswerClaim.BUSY)
            recorded = state[2] if state is not None and state[2] else body
            self._answers[key] = (SENDING, holder, recorded)
            return ClaimedAnswer(AnswerClaim.GRANTED, recorded)

    def answered(self, request: PlanRequest) -> None:
        with self._lock:
            key = request_key(request)
            _state, holder, body = self._answers.get(key, ("", "", ""))
            self._answers[key] = (SENT, holder, body)

    def may_act(self, request: PlanRequest, holder: str = "") -> bool:
        with self._lock:
            state = self._answers.get(request_key(request))
        if state is not None:
            return bool(holder) and state[:2] == (SENDING, holder)
        return not self.superseded(request)

    def superseded(self, request: PlanRequest) -> bool:
        with self._lock:
            if request_key(request) in self._answers:
                return False  # answered (by a duplicate delivery, say): the answer holds the resource
            latest = self._latest.get(latest_request_key(request))
            return latest is not None and latest[0] != request_key(request)

    def start_cleanup(self, request: PlanRequest, provisioned_product_id: str) -> None:
        with self._lock:
            self._cleanups[request_key(request)] = provisioned_product_id

    def cleanup_of(self, request: PlanRequest) -> str | None:
        with self._lock:
            return self._cleanups.get(request_key(request))

    def terminating(self, request: PlanRequest, provisioned_product_id: str, record_id: str) -> None:
        with self._lock:
            self._terminating[request_key(request)] = (provisioned_product_id, record_id)

    def terminate_record(self, request: PlanRequest, provisioned_product_id: str) -> str | None:
        with self._lock:
            product, record = self._terminating.get(request_key(request), ("", ""))
            return record if product == provisioned_product_id and record else None
