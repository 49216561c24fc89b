"""Only CloudFormation's requests count, end to end: events handed straight to the function (as anyone
allowed to invoke it could) are refused unless CloudFormation shows them in progress, and answers go
only to CloudFormation. Each test failed before the provider confirmed requests."""

from __future__ import annotations

import re
import threading
import time
import uuid
from typing import Any

from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import build_request_event
from local_cloud.cloudformation.response_server import PendingResponse
from support.scenarios import FAST_POLLING, executions, plan, product, resource


def hand_made(
    cloud: LocalCloud,
    request_type: str,
    stack_id: str,
    properties: dict[str, Any],
    *,
    physical_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
    signed_ago: float = 0.0,
    response_url: str | None = None,
) -> PendingResponse:
    """Invoke the function with an event nobody made CloudFormation send; its answers arrive on the
    returned slot (a ResponseURL of the local CloudFormation, unless `response_url` says otherwise)."""
    request_id = str(uuid.uuid4())
    pending = cloud.cloudformation.server.expect(stack_id=stack_id, logical_resource_id="Bucket", request_id=request_id)
    url = response_url or pending.url
    if signed_ago:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - signed_ago))
        url = re.sub(r"X-Amz-Date=\d{8}T\d{6}Z", f"X-Amz-Date={stamp}", url)
    event = build_request_event(
        request_type=request_type,  # type: ignore[arg-type]
        service_token=cloud.spec.function_arn,
        response_url=url,
        stack_id=stack_id,
        request_id=request_id,
        resource_type=RESOURCE_TYPE,
        logical_resource_id="Bucket",
        properties={**FAST_POLLING, **properties},
        physical_resource_id=physical_id,
        old_properties={**FAST_POLLING, **old_properties} if old_properties is not None else None,
    )
    cloud.invoke_event(event)
    return pending


def wait_for_log(cloud: LocalCloud, text: str, timeout: float = 30.0) -> None:
    give_up = time.monotonic() + timeout
    while text not in cloud.function.log_text():
        assert time.monotonic() < give_up, f"the function never logged {text!r}"
        time.sleep(0.1)


def test_a_hand_made_delete_of_another_stacks_product_is_refused_and_the_product_stays(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    owner = cloud.stack("owner")
    created = owner.create(resource(plan(sc, product(sc))))
    assert created.status == "CREATE_COMPLETE", created
    product_id = created.outcomes[0].physical_resource_id
    sc.clear_calls()
    # The event names the owner's own stack and resource: the owner check alone cannot tell it apart.
    pending = hand_made(cloud, "Delete", owner.stack_id, {"PlanId": "plan-x"}, physical_id=product_id)
    verdict = pending.wait(60)
    assert verdict is not None and verdict.status == "FAILED"
    assert "CloudFormation does not show this Delete in progress" in verdict.reason
    assert "is CREATE_COMPLETE" in verdict.reason
    assert sc.calls == []
    assert sc.client().describe_provisioned_product(Id=product_id)["ProvisionedProductDetail"]["Status"] == "AVAILABLE"


def test_a_hand_made_update_cannot_send_the_products_outputs_anywhere_else(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    owner = cloud.stack("owner")
    plan_id = plan(sc, product(sc))
    created = owner.create(resource(plan_id))
    assert created.status == "CREATE_COMPLETE", created
    sc.clear_calls()
    # The same PlanId again: before, the provider reported the product, outputs and all, to the URL.
    hand_made(
        cloud,
        "Update",
        owner.stack_id,
        {"PlanId": plan_id},
        physical_id=created.outcomes[0].physical_resource_id,
        old_properties={"PlanId": plan_id},
        response_url="https://collector.example/outputs?X-Amz-Signature=not-cloudformation",
    )
    wait_for_log(cloud, "its ResponseURL is not CloudFormation's response bucket")
    assert sc.calls == []  # the product and its outputs were never read


def test_a_hand_made_request_never_supersedes_the_one_cloudformation_waits_for(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = product(sc, duration=4.0)
    stack = cloud.stack("real")
    result: dict[str, Any] = {}
    creating = threading.Thread(target=lambda: result.update(create=stack.create(resource(plan(sc, seeded)))))
    creating.start()
    give_up = time.monotonic() + 30
    while not sc.records():  # the real Create executed its plan and waits for the record
        assert time.monotonic() < give_up
        time.sleep(0.05)
    # An Update of the same resource, sent by hand while CloudFormation waits for the Create.
    pending = hand_made(cloud, "Update", stack.stack_id, {"PlanId": "plan-x"}, physical_id="pp-x", old_properties={})
    verdict = pending.wait(60)
    creating.join(60)
    assert verdict is not None and verdict.status == "FAILED"
    # What it shows instead depends on when the last read ran: the Create in progress, or done.
    assert "CloudFormation does not show this Update in progress: resource Bucket" in verdict.reason
    created = result["create"]
    assert created.status == "CREATE_COMPLETE", created  # before, the Create found itself superseded
    product_id = created.outcomes[0].physical_resource_id
    assert sc.client().describe_provisioned_product(Id=product_id)["ProvisionedProductDetail"]["Status"] == "AVAILABLE"


def test_a_create_delivered_after_its_service_timeout_is_refused_and_provisions_nothing(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    plan_id = plan(sc, product(sc))
    stack_id = cloud.stack("late").stack_id
    # CloudFormation shows the resource in progress (as it would for the request's own retry)...
    cloud.stack_states.request_sent(
        stack_id, "Bucket", RESOURCE_TYPE, request_type="Create", phase="create", physical_id=None, stack_driven=False
    )
    sc.clear_calls()
    # ...but the request was signed an hour and a half ago: Lambda's queue held it past ServiceTimeout.
    pending = hand_made(cloud, "Create", stack_id, {"PlanId": plan_id}, signed_ago=5400)
    verdict = pending.wait(60)
    assert verdict is not None and verdict.status == "FAILED"
    assert "more than its ServiceTimeout (3600 s) ago" in verdict.reason
    assert sc.calls == []
    assert sc.plan(plan_id).status == "CREATE_SUCCESS"  # not executed
    assert executions(sc) == 0
