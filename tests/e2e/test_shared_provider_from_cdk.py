"""One provider for many stacks, from CDK: a two-stack app whose consumers have no function of their
own (one passes the provider stack's `provider`, one its exported ServiceToken), each taken through
Create, Update and Delete on the local cloud by the shared provider's function."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import aws_cdk as cdk
import pytest

from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import CustomResource
from local_cloud.cloudformation.template import custom_resources_in_template
from sc_plan_execution import PlanExecutionProviderStack, PollingPolicy, ProvisionedProductPlanExecution
from sc_plan_execution.provider_stack import DEFAULT_EXPORT_NAME
from support.assembly import staged_app
from support.scenarios import executions, plan, product

SHARED = "SharedProvider"
BY_PROVIDER, BY_TOKEN = "ConsumerByProvider", "ConsumerByServiceToken"
FAST = PollingPolicy(interval_seconds=0.2, backoff_rate=1, max_interval_seconds=0.2)


@pytest.fixture(scope="module")
def assembly(cdk_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("shared.out")
    app = staged_app(cdk_out, outdir)
    shared = PlanExecutionProviderStack(app, SHARED)
    ProvisionedProductPlanExecution(
        cdk.Stack(app, BY_PROVIDER), "Bucket", plan_id="plan-placeholder", polling=FAST, provider=shared.provider
    )
    ProvisionedProductPlanExecution(
        cdk.Stack(app, BY_TOKEN),
        "Queue",
        plan_id="plan-placeholder",
        polling=FAST,
        service_token=cdk.Fn.import_value(DEFAULT_EXPORT_NAME),
    )
    app.synth()
    return outdir


def template(assembly: Path, stack: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((assembly / f"{stack}.template.json").read_text())
    return loaded


@pytest.fixture
def shared_cloud(assembly: Path) -> Iterator[LocalCloud]:
    with LocalCloud(assembly, stack_name=SHARED, retry_delays=(0.5, 1.0)) as cloud:
        yield cloud
        denied = [(c.service, c.operation) for c in cloud.calls() if c.denied]
    assert denied == [], f"the shared provider's role does not grant: {denied}"


@pytest.mark.parametrize("consumer", [BY_PROVIDER, BY_TOKEN])
def test_a_consumer_stack_holds_only_its_resource(assembly: Path, consumer: str) -> None:
    resources = template(assembly, consumer)["Resources"]
    assert isinstance(resources, dict)
    types = sorted({r["Type"] for r in resources.values()} - {"AWS::CDK::Metadata"})
    assert types == [RESOURCE_TYPE]


@pytest.mark.parametrize("consumer", [BY_PROVIDER, BY_TOKEN])
def test_the_shared_provider_serves_create_update_and_delete(
    assembly: Path, shared_cloud: LocalCloud, consumer: str
) -> None:
    sc = shared_cloud.servicecatalog
    seeded = product(sc)
    (synthesized,) = custom_resources_in_template(template(assembly, consumer), RESOURCE_TYPE)

    def declared(plan_id: str) -> CustomResource:
        return CustomResource(
            synthesized.logical_id, {**synthesized.properties, "PlanId": plan_id}, synthesized.resource_type
        )

    stack = shared_cloud.stack(consumer)
    created = stack.create(declared(plan(sc, seeded)))
    assert created.status == "CREATE_COMPLETE", created
    product_id = created.outcomes[0].physical_resource_id
    updated = stack.update(declared(plan(sc, seeded)))
    assert updated.status == "UPDATE_COMPLETE", updated
    assert updated.outcomes[0].physical_resource_id == product_id
    deleted = stack.delete()
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert executions(sc) == 2
    assert product_id not in {p.id for p in sc.provisioned_products()}
