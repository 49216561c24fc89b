"""What a failed request gives back: the owners it recorded for products the stack does not hold.

A failed request never takes ownership (a claim: docs/glossary.md#owners-and-the-deputy). Products it
created but could not remove stay recorded for the resource's next request (steps/terminate.py,
records/leftovers.py).
Loaded only when a request fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sc_plan_provider.core.telemetry import logger
from sc_plan_provider.records.ledger import request_key
from sc_plan_provider.records.leftovers import leftovers_of
from sc_plan_provider.records.owners import Owner, OwnershipUnavailableError

if TYPE_CHECKING:
    from sc_plan_provider.core.request import PlanRequest
    from sc_plan_provider.steps.context import Environment


def release_new_claims(request: PlanRequest, env: Environment, keep: tuple[str, ...]) -> None:
    """Forget the owners this request recorded, except of `keep` (the failed answer's and the
    request's physical ids: the products the stack holds) and of products this request created but
    could not remove (the resource's next request removes them: `terminate.remove_abandoned`)."""
    owner = Owner.of(request)
    records = leftovers_of(env.owners)
    for product_id in env.new_claims:
        if product_id in keep or product_id in env.abandoned:
            continue
        try:
            records.release(product_id, owner, request_key(request))
        except OwnershipUnavailableError as error:
            logger.warning("Could not give back a claim", extra={"product": product_id, "error": str(error)})
    env.new_claims.clear()
