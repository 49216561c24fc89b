"""50 custom resources created at once while every second Service Catalog call is throttled.

One local cloud, 50 stacks created from 50 threads, each with its own plan: checks that the
provider rides out throttling (botocore standard retries) and that CloudFormation gets exactly one
answer per request, and shows how many execution environments Lambda had to start.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench.common import CDK_OUT, SHARED_CPU_INIT_TIMEOUT_S, MeasurementError, median
from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import CustomResource, Delivery, StackResult
from local_cloud.servicecatalog import ProvisioningScript

RESOURCES = 50
THROTTLE_EVERY = 2
PROVISION_S = 5.0
ANSWER_WAIT_S = 120.0  # bounds each create; far above what a healthy run needs


@dataclass(frozen=True)
class ConcurrencyResult:
    resources: int
    succeeded: int
    requests: int
    answers: int
    environments_started: int
    wall_s: float
    answer_seconds: list[float]
    sc_calls: int
    sc_throttled: int
    calls_by_operation: dict[str, int]
    failures: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "resources": self.resources,
            "succeeded": self.succeeded,
            "requests": self.requests,
            "answers": self.answers,
            "environments_started": self.environments_started,
            "wall_s": round(self.wall_s, 2),
            "answer_s_median": round(median(self.answer_seconds), 2),
            "answer_s_max": round(max(self.answer_seconds), 2),
            "service_catalog_calls": self.sc_calls,
            "throttled_calls": self.sc_throttled,
            "calls_by_operation": self.calls_by_operation,
            "failures": self.failures,
        }


def run(resources: int = RESOURCES) -> ConcurrencyResult:
    with LocalCloud(CDK_OUT) as cloud:
        cloud.cloudformation.timeout_override = ANSWER_WAIT_S  # bounds every wait, rollbacks included
        cloud.function.init_timeout = SHARED_CPU_INIT_TIMEOUT_S
        sc = cloud.servicecatalog
        plans = []
        for i in range(resources):
            product = sc.add_product(f"burst-{i + 1}", ProvisioningScript(duration=PROVISION_S, outputs={"N": str(i)}))
            plans.append(sc.create_plan(product.id, product.artifact_id("v1"), f"burst-{i + 1}-pp").id)
        sc.inject_throttling(every=THROTTLE_EVERY)

        def create(index: int) -> StackResult:
            resource = CustomResource("Plan", {"PlanId": plans[index]}, resource_type=RESOURCE_TYPE)
            return cloud.stack(f"burst-{index + 1}").create(
                resource, delivery=Delivery(service_timeout_override=ANSWER_WAIT_S)
            )

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=resources) as pool:
            results = list(pool.map(create, range(resources)))
        wall = time.monotonic() - started
        cloud.function.wait_for_async(timeout=ANSWER_WAIT_S)  # late or duplicate answers would land by now
        outcomes = [o for r in results for o in r.outcomes]
        if not outcomes:
            raise MeasurementError("no request was sent")
        calls = sc.calls
        by_operation: dict[str, int] = {}
        for call in calls:
            by_operation[call.operation] = by_operation.get(call.operation, 0) + 1
        return ConcurrencyResult(
            resources=resources,
            succeeded=sum(1 for r in results if r.status == "CREATE_COMPLETE"),
            requests=len(outcomes),
            answers=sum(o.answers for o in outcomes),
            environments_started=cloud.function.environments_started,
            wall_s=wall,
            answer_seconds=[o.seconds for o in outcomes],
            sc_calls=len(calls),
            sc_throttled=sum(1 for c in calls if c.throttled),
            calls_by_operation=dict(sorted(by_operation.items())),
            failures=[f"{r.status}: {o.reason}" for r in results for o in r.outcomes if not o.succeeded],
        )
