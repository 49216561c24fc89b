"""examples/bucket-from-plan.yaml, as written, against the shared provider stack's function.

The raw template's resource is sent with its exact properties: `!Ref PlanId` resolves to a plan
seeded in the emulator, `!ImportValue ServiceCatalogPlanExecution-ServiceToken` to the function the
`ServiceCatalogPlanProvider` stack exports; its Outputs' `!GetAtt` targets must be in the answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

import app
from local_cloud.cloud import RESOURCE_TYPE, LocalCloud, provider_spec
from local_cloud.cloudformation import CustomResource, custom_resources_in_template, resolve_intrinsics
from local_cloud.servicecatalog import ProvisioningScript
from sc_plan_execution import DEFAULT_EXPORT_NAME
from support.scenarios import delete_plans_of, product

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bucket-from-plan.yaml"


@pytest.fixture(scope="module")
def example_template() -> dict[str, Any]:
    """The YAML with its short-form tags (`!Ref`, `!ImportValue`, `!GetAtt`) decoded by cfn-lint."""
    template: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(EXAMPLE))))
    return template


@pytest.fixture
def provider_cloud(cdk_out: Path) -> Iterator[LocalCloud]:
    with LocalCloud(cdk_out, stack_name=app.PROVIDER_STACK_NAME, retry_delays=(0.5, 1.0)) as cloud:
        yield cloud


def _resource(template: dict[str, Any], cloud: LocalCloud, plan_id: str) -> CustomResource:
    """The template's custom resource as CloudFormation would send it with `PlanId=plan_id`."""
    resources = resolve_intrinsics(template["Resources"], refs={"PlanId": plan_id}, imports=cloud.exports)
    # CloudFormation invokes what the import names: the provider stack's function, which the driver invokes.
    assert resources["Bucket"]["Properties"]["ServiceToken"] == cloud.cloudformation.service_token
    (resource,) = custom_resources_in_template({"Resources": resources}, RESOURCE_TYPE)
    return resource


def _get_att_targets(template: dict[str, Any]) -> dict[str, str]:
    """Output name -> attribute name for every `!GetAtt Bucket.<attribute>` output."""
    targets = {}
    for name, output in template["Outputs"].items():
        value = output["Value"]
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            assert logical_id == "Bucket"
            targets[name] = attribute
    return targets


def test_example_template_imports_the_provider_and_applies_plans_through_create_update_delete(
    provider_cloud: LocalCloud, example_template: dict[str, Any]
) -> None:
    cloud = provider_cloud
    assert cloud.spec.stack_name == app.PROVIDER_STACK_NAME
    assert cloud.exports == {DEFAULT_EXPORT_NAME: cloud.spec.function_arn}
    targets = _get_att_targets(example_template)
    assert targets == {"RecordId": "RecordId", "BucketName": "Outputs.BucketName"}

    sc = cloud.servicecatalog
    seeded = product(sc, outputs={"BucketName": "bucket-v1"})
    first = sc.create_plan(seeded.id, seeded.artifact_id("v1"), "example-pp").id
    resource = _resource(example_template, cloud, first)
    assert resource.service_timeout == 3600
    assert resource.properties["PlanId"] == first
    stack = cloud.stack("bucket-from-plan")

    created = stack.create(resource)
    assert created.status == "CREATE_COMPLETE", created
    (answer,) = created.outcomes
    product_id = answer.physical_resource_id
    assert set(targets.values()) <= set(answer.data), answer.data
    assert answer.data["RecordId"] == sc.provisioned_product(product_id).last_record_id
    assert answer.data["Outputs.BucketName"] == "bucket-v1"

    sc.set_script(seeded.artifact_id("v1"), ProvisioningScript(duration=0.5, outputs={"BucketName": "bucket-v2"}))
    delete_plans_of(sc, "example-pp")  # one plan per product: the user deletes the executed one first
    second = sc.create_plan(seeded.id, seeded.artifact_id("v1"), "example-pp").id
    updated = stack.update(_resource(example_template, cloud, second))
    assert updated.status == "UPDATE_COMPLETE", updated
    (update_answer,) = updated.outcomes
    assert update_answer.physical_resource_id == product_id  # the same product, updated by the second plan
    assert set(targets.values()) <= set(update_answer.data)
    assert update_answer.data["Outputs.BucketName"] == "bucket-v2"
    assert update_answer.data["RecordId"] != answer.data["RecordId"]

    deleted = stack.delete()
    assert deleted.status == "DELETE_COMPLETE", deleted
    assert sc.provisioned_products() == []
    assert all(len(o.puts) == 1 for o in [*created.outcomes, *updated.outcomes, *deleted.outcomes])


def test_local_cloud_defaults_to_the_demo_stack_and_can_pick_the_provider_stack(cdk_out: Path) -> None:
    """The app has two provider functions with one handler; existing callers keep the demo stack's."""
    assert provider_spec(cdk_out).stack_name == app.STACK_NAME
    shared = provider_spec(cdk_out, app.PROVIDER_STACK_NAME)
    assert shared.stack_name == app.PROVIDER_STACK_NAME
    assert shared.function_arn != provider_spec(cdk_out).function_arn
