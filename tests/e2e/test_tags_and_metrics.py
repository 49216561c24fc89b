"""A CDK app using the construct as CDK users do — `Tags.of(...)` on the stack and on the construct,
`alarm_on_failures()` — synthesized into a temporary assembly, its custom resources sent through
CloudFormation on the local cloud: the tags Service Catalog receives are the synthesized ones (spec
tags winning, exclusions respected, tokens resolved as CloudFormation would), plan mode renders none
and deploys, and the alarm's metric is exactly one the function publishes for that resource."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import CustomResource, custom_resources_in_assembly, resolve_intrinsics
from local_cloud.servicecatalog import ProvisioningScript, RecordError
from sc_plan_execution import PollingPolicy, ProductSpec, ProvisionedProductPlanExecution
from support.metrics import emf_documents, listed, watches
from support.scenarios import product

STACK_NAME = "TaggedProducts"
ACCOUNT = "123456789012"  # the local CloudFormation driver's account (make_stack_id)
FAST = PollingPolicy(interval_seconds=0.2, backoff_rate=1, max_interval_seconds=0.2)


def build_app(outdir: Path) -> None:
    """What a user writes: a spec-mode product and a plan-mode one, tagged and alarmed."""
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, STACK_NAME)
    bucket = ProvisionedProductPlanExecution(
        stack,
        "Bucket",
        spec=ProductSpec.of(
            product_id="prod-placeholder",
            provisioning_artifact_id="pa-placeholder",
            provisioned_product_name="tagged-bucket-pp",
            tags={"team": "data"},
        ),
        polling=FAST,
    )
    legacy = ProvisionedProductPlanExecution(stack, "Legacy", plan_id="plan-placeholder", polling=FAST)
    cdk.Tags.of(stack).add("team", "platform")  # the spec's own team=data wins
    cdk.Tags.of(stack).add("cost-center", "1234")
    cdk.Tags.of(stack).add("not-for-products", "x", exclude_resource_types=[RESOURCE_TYPE])
    cdk.Tags.of(bucket).add("account", cdk.Aws.ACCOUNT_ID)
    bucket.alarm_on_failures()
    legacy.alarm_on_failures()
    app.synth()


@pytest.fixture(scope="module")
def assembly(cdk_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("tagged.out")
    # The provider's asset is the one `make synth` staged (same sources, same hash): no bundling again.
    for staged in cdk_out.glob("asset.*"):
        shutil.copytree(staged, outdir / staged.name, symlinks=True)
    build_app(outdir)
    return outdir


@pytest.fixture
def tagged_cloud(assembly: Path) -> Any:
    with LocalCloud(assembly, stack_name=STACK_NAME, retry_delays=(0.5, 1.0)) as cloud:
        yield cloud


def synthesized(assembly: Path) -> dict[str, CustomResource]:
    """The custom resources by kind, with what CloudFormation resolves (the account) resolved."""
    found = {}
    for resource in custom_resources_in_assembly(assembly, RESOURCE_TYPE):
        properties = resolve_intrinsics(resource.properties, refs={"AWS::AccountId": ACCOUNT})
        found["spec" if "ProductId" in properties else "plan"] = replace(resource, properties=properties)
    return found


def template(assembly: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((assembly / f"{STACK_NAME}.template.json").read_text())
    return loaded


def test_tags_of_reach_create_provisioned_product_plan_and_plan_mode_renders_none(
    assembly: Path, tagged_cloud: LocalCloud
) -> None:
    sc = tagged_cloud.servicecatalog
    resources = synthesized(assembly)
    seeded = product(sc)
    spec = resources["spec"]
    # The emulator names its own product and version; everything else is what the app synthesized.
    spec = replace(
        spec,
        properties={**spec.properties, "ProductId": seeded.id, "ProvisioningArtifactId": seeded.artifact_id("v1")},
    )
    stack = tagged_cloud.stack(STACK_NAME)
    created = stack.create(spec)
    assert created.status == "CREATE_COMPLETE", created
    (call,) = sc.calls_to("CreateProvisionedProductPlan")
    assert call.params["Tags"] == [
        {"Key": "account", "Value": ACCOUNT},
        {"Key": "cost-center", "Value": "1234"},
        {"Key": "team", "Value": "data"},
    ]

    legacy = resources["plan"]
    assert "Tags" not in legacy.properties  # a plan carries its own tags; Tags next to PlanId would be refused
    plan_id = sc.create_plan(
        seeded.id, seeded.artifact_id("v1"), "legacy-pp", tags=[{"Key": "team", "Value": "old"}]
    ).id
    deployed = tagged_cloud.stack("LegacyProducts").create(
        replace(legacy, properties={**legacy.properties, "PlanId": plan_id})
    )
    assert deployed.status == "CREATE_COMPLETE", deployed


def test_the_alarm_watches_a_metric_the_function_publishes_for_that_resource(
    assembly: Path, tagged_cloud: LocalCloud
) -> None:
    sc = tagged_cloud.servicecatalog
    failing = sc.add_product(
        "failing", ProvisioningScript(duration=0.3, errors=[RecordError("CREATE_FAILED", "Bucket name taken")])
    )
    spec = synthesized(assembly)["spec"]
    spec = replace(
        spec,
        properties={**spec.properties, "ProductId": failing.id, "ProvisioningArtifactId": failing.artifact_id("v1")},
    )
    result = tagged_cloud.stack(STACK_NAME).create(spec)
    assert result.status == "ROLLBACK_COMPLETE", result

    alarms = [  # the resources' failure alarms (the provider's own alarms watch the function and its queue)
        r["Properties"]
        for r in template(assembly)["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("MetricName") == "ProvisioningFailures"
    ]
    (alarm,) = [a for a in alarms if {"Name": "LogicalResourceId", "Value": spec.logical_id} in a["Dimensions"]]
    (other,) = [a for a in alarms if a is not alarm]  # the plan-mode resource's, which did not fail
    documents = emf_documents(tagged_cloud)
    matching = [document for document in documents if watches(alarm, document)]
    assert matching, (alarm, documents)
    assert sum(value for document in matching for value in listed(document[alarm["MetricName"]])) >= alarm["Threshold"]
    # Per resource: the other resource's alarm watches another dimension set and stays quiet.
    assert not [document for document in documents if watches(other, document)]
