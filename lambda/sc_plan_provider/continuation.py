"""Hand a request over to a new invocation of this function when this one's time runs out.

CloudFormation waits up to an hour (ServiceTimeout); a Lambda invocation lives 15 minutes at
most. Rather than rules created at run time (crhelper) or a state machine, the function invokes
itself asynchronously with the same event: every step is idempotent (Service Catalog tokens) and
the request ledger keeps the first-arrival time and the single answer, so the new invocation
simply resumes. The only permission needed is lambda:InvokeFunction on itself, granted at synth.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sc_plan_provider.aws_clients import lambda_client
from sc_plan_provider.telemetry import logger, metrics

if TYPE_CHECKING:
    pass

# Added to the event of a continuation; CloudFormation never sends it.
CONTINUATION_KEY = "ServiceCatalogPlanContinuation"
# A runaway guard: an hour of 15-minute invocations needs 5 hops; short test timeouts need more.
MAX_HOPS = 200


def hop(event: dict[str, Any]) -> int:
    """0 for CloudFormation's own delivery, n for the n-th continuation."""
    return int(event.get(CONTINUATION_KEY, {}).get("Hop", 0))


def continue_in_new_invocation(event: dict[str, Any], function_arn: str) -> None:
    """Invoke this function asynchronously with the same request (Event invocation: at least once)."""
    next_hop = hop(event) + 1
    if next_hop > MAX_HOPS:
        raise RuntimeError(f"gave up after {MAX_HOPS} continuations")
    payload = {**event, CONTINUATION_KEY: {"Hop": next_hop}}
    lambda_client().invoke(FunctionName=function_arn, InvocationType="Event", Payload=json.dumps(payload).encode())
    metrics.add_metric(name="Continuations", unit="Count", value=1)
    logger.info("Request handed over to a new invocation", extra={"hop": next_hop})
