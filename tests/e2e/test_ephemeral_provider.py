"""An ephemeral provider (ProviderOptions(removal_policy=DESTROY)): its stack's deletion takes the
owners table along only when no owner record of a product that still exists would go with it; the
guard that decides is the synthesized custom resource, answered by the synthesized function."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import aws_cdk as cdk
import pytest

from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import CustomResource
from local_cloud.cloudformation.template import custom_resources_in_template
from sc_plan_execution import PollingPolicy, ProviderOptions, ProvisionedProductPlanExecution
from sc_plan_provider.properties.resource import OWNERS_GUARD_TYPE
from support.assembly import staged_app
from support.scenarios import plan, product

STACK = "EphemeralPlans"
FAST = PollingPolicy(interval_seconds=0.2, backoff_rate=1, max_interval_seconds=0.2)


@pytest.fixture(scope="module")
def assembly(cdk_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("ephemeral.out")
    app = staged_app(cdk_out, outdir)
    stack = cdk.Stack(app, STACK)
    ProvisionedProductPlanExecution(
        stack,
        "Bucket",
        plan_id="plan-placeholder",
        polling=FAST,
        provider_options=ProviderOptions(removal_policy=cdk.RemovalPolicy.DESTROY),
    )
    app.synth()
    return outdir


def declared(assembly: Path, plan_id: str, *, retained: bool = False) -> tuple[CustomResource, CustomResource]:
    """The guard and the resource, in the order CloudFormation creates them (the resource depends on
    the guard, so it is deleted first)."""
    template = json.loads((assembly / f"{STACK}.template.json").read_text())
    (guard,) = custom_resources_in_template(template, OWNERS_GUARD_TYPE)
    (bucket,) = custom_resources_in_template(template, RESOURCE_TYPE)
    bucket = replace(bucket, properties={**bucket.properties, "PlanId": plan_id})
    return guard, replace(bucket, deletion_policy="Retain") if retained else bucket


def test_the_guard_lets_the_stack_go_once_its_products_are_terminated(assembly: Path) -> None:
    with LocalCloud(assembly, stack_name=STACK, retry_delays=(0.5, 1.0)) as cloud:
        sc = cloud.servicecatalog
        stack = cloud.stack(STACK)
        created = stack.create(*declared(assembly, plan(sc, product(sc))))
        assert created.status == "CREATE_COMPLETE", created
        deleted = stack.delete()
        assert deleted.status == "DELETE_COMPLETE", deleted
        assert [o.status for o in deleted.outcomes] == ["SUCCESS", "SUCCESS"]
        assert sc.provisioned_products() == []
        assert not [c for c in cloud.calls() if c.denied]


def test_the_guard_stops_the_deletion_while_a_retained_product_still_exists(assembly: Path) -> None:
    with LocalCloud(assembly, stack_name=STACK, retry_delays=(0.5, 1.0)) as cloud:
        sc = cloud.servicecatalog
        stack = cloud.stack(STACK)
        created = stack.create(*declared(assembly, plan(sc, product(sc)), retained=True))
        product_id = created.outcomes[1].physical_resource_id
        deleted = stack.delete()
        assert deleted.status == "DELETE_FAILED", deleted
        (guard,) = deleted.outcomes  # the retained resource gets no Delete
        assert guard.status == "FAILED"
        assert f"still holds the owners of provisioned products that exist: {product_id}" in guard.reason
        assert [p.id for p in sc.provisioned_products()] == [product_id]
        assert not [c for c in cloud.calls() if c.denied]
