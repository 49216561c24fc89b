"""Active tracing on the local cloud: the synthesized asset's X-Ray segments, as the daemon gets them.

The function's template asks for TracingConfig Active, so every invocation is sampled and the
Powertools Tracer ships a subsegment around each Service Catalog call, with botocore's own
subsegment for the API call inside it. Only botocore is patched: the answer's PUT to the
pre-signed ResponseURL never appears in a trace.
"""

from __future__ import annotations

import json
import time
from typing import Any

from local_cloud.cloud import LocalCloud
from support.scenarios import plan, product, resource

SERVICE_CATALOG_METHODS = {
    "describe_plan": "DescribeProvisionedProductPlan",
    "execute_plan": "ExecuteProvisionedProductPlan",
    "describe_record": "DescribeRecord",
    "describe_product": "DescribeProvisionedProduct",
    "terminate_product": "TerminateProvisionedProduct",
}
# The edge's classes: the common calls, and those of the less common paths (terminate: Deletes).
METHOD_PREFIXES = (
    "## sc_plan_provider.servicecatalog.calls.ServiceCatalog.",
    "## sc_plan_provider.servicecatalog.planning.PlanningCatalog.",
)


def method_of(subsegment_name: str) -> str:
    return next(subsegment_name.removeprefix(p) for p in METHOD_PREFIXES if subsegment_name.startswith(p))


def settled_subsegments(cloud: LocalCloud, count_at_least: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """UDP datagrams arrive a moment after the answer; wait for the handler's own subsegments."""
    deadline = time.monotonic() + timeout
    while True:
        subsegments = cloud.xray.subsegments()
        handlers = [s for s in subsegments if s.get("name") == "## lambda_handler"]
        if len(handlers) >= count_at_least or time.monotonic() > deadline:
            return subsegments
        time.sleep(0.05)


def test_every_service_catalog_call_is_traced_inside_its_tracer_subsegment(cloud: LocalCloud) -> None:
    assert cloud.spec.tracing_mode == "Active"
    sc = cloud.servicecatalog
    stack = cloud.stack("traced")
    assert stack.create(resource(plan(sc, product(sc)))).status == "CREATE_COMPLETE"
    assert stack.delete().status == "DELETE_COMPLETE"

    subsegments = settled_subsegments(cloud, count_at_least=2)
    assert cloud.xray.rejected == []
    by_id = {s["id"]: s for s in subsegments}
    api_calls = [s for s in subsegments if s.get("namespace") == "aws" and s.get("name") == "servicecatalog"]
    assert {s["aws"]["operation"] for s in api_calls} == set(SERVICE_CATALOG_METHODS.values())
    for call in api_calls:
        method = method_of(by_id[call["parent_id"]]["name"])
        assert SERVICE_CATALOG_METHODS[method] == call["aws"]["operation"], call

    handlers = [s for s in subsegments if s.get("name") == "## lambda_handler"]
    assert len(handlers) == 2
    assert handlers[0]["annotations"]["ColdStart"] is True
    assert {h["annotations"]["Service"] for h in handlers} == {"servicecatalog-plan-execution"}


def test_the_answer_to_the_response_url_is_not_traced(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    created = cloud.stack("quiet").create(resource(plan(sc, product(sc))))
    assert created.status == "CREATE_COMPLETE"
    settled_subsegments(cloud, count_at_least=1)

    documents = json.dumps(cloud.xray.documents())
    assert "X-Amz-Signature" not in documents
    assert "remote" not in {s.get("namespace") for s in cloud.xray.subsegments()}  # http.client is not patched
    assert {s.get("namespace") for s in cloud.xray.subsegments()} == {"local", "aws"}
