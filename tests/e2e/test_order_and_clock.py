"""CloudFormation's order and clock (issue 23, section 2), end to end: Lambda's queue holds a request
past its ServiceTimeout, CloudFormation gives up and rolls back, and the request arrives after it
all. Whether the provider judges it by the time CloudFormation signed it or by what CloudFormation
shows, it changes nothing. Each of these failed before the change: the held Create provisioned a
product no stack holds, and the held Update moved the product to a plan the stack no longer declares."""

from __future__ import annotations

from typing import Any

import pytest

from local_cloud.cloud import LocalCloud
from local_cloud.cloudformation import Delivery, Invoke, Outcome
from local_cloud.servicecatalog import SeededProduct, ServiceCatalogEmulator
from local_cloud.sweep.deliveries import signed_earlier
from support.scenarios import delete_plans_of, executions, plan, product, resource

# CloudFormation's wait, compressed: it gives up on the held request after this long.
GIVE_UP_SECONDS = 3.0


class HoldOne:
    """Lambda's queue holding the next request of `request_type` (driver.Interceptor)."""

    def __init__(self, request_type: str) -> None:
        self.request_type = request_type
        self.held: dict[str, Any] | None = None

    def before_sent(self, event: dict[str, Any]) -> None:
        pass

    def deliver(self, event: dict[str, Any], invoke: Invoke) -> None:
        if self.held is None and event["RequestType"] == self.request_type:
            self.held = event
            return
        invoke(event)


def deliver_late(cloud: LocalCloud, held: Outcome, event: dict[str, Any], *, old_signature: bool) -> dict[str, Any]:
    """The held event arrives now; with `old_signature`, signed as long ago as a real delay past its
    ServiceTimeout would make it. Its answer (late: CloudFormation no longer reads it) is returned."""
    cloud.invoke_event(signed_earlier(event, 3600 + 60) if old_signature else event)
    cloud.function.wait_for_async(timeout=60)
    (put,) = [p for p in held.puts if p.method == "PUT"]
    assert put.note == "late"
    answer: dict[str, Any] = put.json()
    return answer


def sized_plan(sc: ServiceCatalogEmulator, seeded: SeededProduct, size: str) -> str:
    """A plan of the product's one version with parameter Size: plans that tell apart on the product."""
    delete_plans_of(sc, "bucket-pp")
    return sc.create_plan(
        seeded.id, seeded.artifact_id("v1"), "bucket-pp", parameters=[{"Key": "Size", "Value": size}]
    ).id


@pytest.mark.parametrize("old_signature", [True, False], ids=["signed-past-service-timeout", "shown-not-in-progress"])
def test_a_create_held_past_its_service_timeout_provisions_nothing(cloud: LocalCloud, old_signature: bool) -> None:
    sc = cloud.servicecatalog
    plan_id = plan(sc, product(sc))
    holding = HoldOne("Create")
    cloud.cloudformation.interceptor = holding
    result = cloud.stack("held-create").create(
        resource(plan_id), delivery=Delivery(service_timeout_override=GIVE_UP_SECONDS)
    )
    cloud.cloudformation.interceptor = None
    assert result.status == "ROLLBACK_COMPLETE", result
    (create,) = result.by_phase("create")
    assert create.timed_out and holding.held is not None
    answer = deliver_late(cloud, create, holding.held, old_signature=old_signature)
    assert answer["Status"] == "FAILED" and answer["Reason"].startswith("Refused, nothing was changed")
    expected = "more than its ServiceTimeout" if old_signature else "does not show this Create in progress"
    assert expected in answer["Reason"]
    assert executions(sc) == 0
    user_plan = sc.plan(plan_id)
    assert user_plan.status == "CREATE_SUCCESS"  # the user's plan, still to deploy
    # Nothing provisioned: the only product is the plan's own placeholder, the user's.
    assert [p.id for p in sc.provisioned_products()] == [user_plan.provisioned_product_id]


@pytest.mark.parametrize("old_signature", [True, False], ids=["signed-past-service-timeout", "shown-not-in-progress"])
def test_an_update_held_past_its_service_timeout_never_moves_the_product(
    cloud: LocalCloud, old_signature: bool
) -> None:
    sc = cloud.servicecatalog
    seeded = product(sc)
    stack = cloud.stack("held-update")
    assert stack.create(resource(sized_plan(sc, seeded, "1"))).status == "CREATE_COMPLETE"
    product_id = stack.resources["Bucket"].physical_resource_id
    assert product_id is not None
    holding = HoldOne("Update")
    cloud.cloudformation.interceptor = holding
    forward = sized_plan(sc, seeded, "2")  # a new plan of the same product (in place)
    updated = stack.update(resource(forward), delivery=Delivery(service_timeout_override=GIVE_UP_SECONDS))
    cloud.cloudformation.interceptor = None
    assert updated.status == "UPDATE_ROLLBACK_COMPLETE", updated
    (update,) = updated.by_phase("update")
    assert update.timed_out and holding.held is not None
    before = executions(sc)
    answer = deliver_late(cloud, update, holding.held, old_signature=old_signature)
    assert answer["Status"] == "FAILED" and answer["Reason"].startswith("Refused, nothing was changed")
    assert executions(sc) == before  # the forward plan was never executed
    assert sc.plan(forward).status == "CREATE_SUCCESS"
    assert sc.current_parameters(product_id) == {"Size": "1"}  # as the stack declares it
