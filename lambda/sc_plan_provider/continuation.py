"""Hand a request over to a new invocation of this function when this one's time runs out.

CloudFormation waits up to an hour (ServiceTimeout); a Lambda invocation lives 15 minutes at
most. Rather than rules created at run time (crhelper) or a state machine, the function invokes
itself asynchronously with the same event: every step is idempotent (Service Catalog tokens) and
the request ledger keeps the first-arrival time and the single answer, so the new invocation
simply resumes. The only permission needed is lambda:InvokeFunction on itself, granted at synth.
"""

from __future__ import annotations

import json
from typing import Any

from sc_plan_provider.aws_clients import handover_lambda_client
from sc_plan_provider.telemetry import logger, metrics

# Added to the event of a continuation; CloudFormation never sends it.
CONTINUATION_KEY = "ServiceCatalogPlanContinuation"
# A runaway guard: an hour of 15-minute invocations needs 5 hops; short test timeouts need more.
MAX_HOPS = 200


def hop(event: dict[str, Any]) -> int:
    """0 for CloudFormation's own delivery, n for the n-th continuation."""
    return int(_continuation(event).get("Hop", 0))


def carried_first_seen(event: dict[str, Any]) -> float | None:
    """The request's first arrival as the continuation carries it (epoch seconds), None from CloudFormation.

    It travels with the request, so the deadline keeps its anchor even when the ledger's first write failed.
    """
    value = _continuation(event).get("FirstSeen")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def continue_in_new_invocation(event: dict[str, Any], function_arn: str, first_seen: float) -> None:
    """Invoke this function asynchronously with the same request (Event invocation: at least once).

    `function_arn` is the ARN this invocation was invoked by, qualified when CloudFormation's
    ServiceToken names an alias or version, so the continuation runs the same code.
    """
    next_hop = hop(event) + 1
    if next_hop > MAX_HOPS:
        raise RuntimeError(f"gave up after {MAX_HOPS} continuations")
    payload = {**event, CONTINUATION_KEY: {"Hop": next_hop, "FirstSeen": first_seen}}
    handover_lambda_client().invoke(
        FunctionName=function_arn, InvocationType="Event", Payload=json.dumps(payload).encode()
    )
    metrics.add_metric(name="Continuations", unit="Count", value=1)
    logger.info("Request handed over to a new invocation", extra={"hop": next_hop})


def _continuation(event: dict[str, Any]) -> dict[str, Any]:
    carried = event.get(CONTINUATION_KEY)
    return carried if isinstance(carried, dict) else {}
