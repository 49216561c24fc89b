"""Tags.of(scope) reaches the provisioned product's tags in spec mode, as CDK tags its own resources:
the same rendering as the native CfnCloudFormationProvisionedProduct for the same Tags.of calls
(priorities, removals, apply_to_launched_instances), include/exclude by our resource type, tokens
resolved at synth, the spec's own tags winning on a conflict, checked at synth; nothing in plan mode;
never the provider's resources through the construct."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_servicecatalog as servicecatalog
from aws_cdk.assertions import Template

from sc_plan_execution import RESOURCE_TYPE, ProductSpec, ProvisionedProductPlanExecution

MakeStack = Callable[[], cdk.Stack]
PROVIDER_TYPES = ("AWS::Lambda::Function", "AWS::IAM::Role", "AWS::DynamoDB::Table", "AWS::Logs::LogGroup")


def spec(**tags: str) -> ProductSpec:
    return ProductSpec.of(
        product_id="prod-abc123",
        provisioning_artifact_id="pa-abc123",
        provisioned_product_name="analytics-bucket",
        tags=tags,
    )


def rendered(stack: cdk.Stack, resource_type: str = RESOURCE_TYPE) -> list[Any] | None:
    resources = Template.from_stack(stack).find_resources(resource_type)
    (resource,) = resources.values()
    tags: list[Any] | None = resource["Properties"].get("Tags")
    return tags


def test_tags_of_the_stack_and_of_the_construct_reach_the_product_with_the_spec_tags(make_stack: MakeStack) -> None:
    stack = make_stack()
    execution = ProvisionedProductPlanExecution(stack, "Execution", spec=spec(team="data"))
    cdk.Tags.of(stack).add("cost-center", "1234")
    cdk.Tags.of(execution).add("owner", "analytics")
    assert rendered(stack) == [
        {"Key": "cost-center", "Value": "1234"},
        {"Key": "owner", "Value": "analytics"},
        {"Key": "team", "Value": "data"},
    ]


def test_tags_of_renders_what_the_native_provisioned_product_renders(make_stack: MakeStack) -> None:
    """The same Tags.of calls on both; CDK's rules decide (priority, last applied, removal,
    apply_to_launched_instances, which only Auto Scaling groups render)."""
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Execution", spec=spec())
    servicecatalog.CfnCloudFormationProvisionedProduct(
        stack, "Native", product_id="prod-abc123", provisioning_artifact_id="pa-abc123"
    )
    tags = cdk.Tags.of(stack)
    tags.add("env", "prod")
    tags.add("env", "dev")  # same priority, applied later: wins
    tags.add("tier", "gold", priority=150)
    tags.add("tier", "silver")  # lower priority: loses
    tags.add("temporary", "yes")
    tags.remove("temporary")  # removal's default priority 200 beats the add's 100
    tags.add("launched", "no", apply_to_launched_instances=False)
    ours = rendered(stack)
    native = rendered(stack, "AWS::ServiceCatalog::CloudFormationProvisionedProduct")
    assert ours == native
    assert ours == [
        {"Key": "env", "Value": "dev"},
        {"Key": "launched", "Value": "no"},
        {"Key": "tier", "Value": "gold"},
    ]


def test_the_spec_tags_win_over_tags_of_unless_it_asks_for_a_higher_priority(make_stack: MakeStack) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Execution", spec=spec(team="data", stage="beta"))
    cdk.Tags.of(stack).add("team", "platform")
    cdk.Tags.of(stack).remove("stage")
    assert rendered(stack) == [{"Key": "stage", "Value": "beta"}, {"Key": "team", "Value": "data"}]

    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Execution", spec=spec(team="data"))
    cdk.Tags.of(stack).add("team", "platform", priority=400)
    assert rendered(stack) == [{"Key": "team", "Value": "platform"}]


def test_include_and_exclude_decide_by_our_resource_type(make_stack: MakeStack) -> None:
    stack = make_stack()
    execution = ProvisionedProductPlanExecution(stack, "Execution", spec=spec())
    default_child = execution.resource.node.default_child
    assert isinstance(default_child, cdk.CfnResource) and default_child.cfn_resource_type == RESOURCE_TYPE
    tags = cdk.Tags.of(stack)
    tags.add("everywhere", "yes")
    tags.add("not-ours", "yes", exclude_resource_types=[RESOURCE_TYPE])
    tags.add("ours-only", "yes", include_resource_types=[RESOURCE_TYPE])
    tags.add("buckets-only", "yes", include_resource_types=["AWS::S3::Bucket"])
    assert rendered(stack) == [{"Key": "everywhere", "Value": "yes"}, {"Key": "ours-only", "Value": "yes"}]
    function_tags = {t["Key"] for t in rendered(stack, "AWS::Lambda::Function") or []}
    assert function_tags == {"everywhere", "not-ours"}


def test_tokens_in_tag_values_resolve_at_synth(make_stack: MakeStack) -> None:
    stack = make_stack()
    owner = cdk.CfnParameter(stack, "Owner")
    ProvisionedProductPlanExecution(stack, "Execution", spec=spec(stack=cdk.Aws.STACK_NAME))
    cdk.Tags.of(stack).add("account", cdk.Aws.ACCOUNT_ID)
    cdk.Tags.of(stack).add("owner", owner.value_as_string)
    assert rendered(stack) == [
        {"Key": "account", "Value": {"Ref": "AWS::AccountId"}},
        {"Key": "owner", "Value": {"Ref": "Owner"}},
        {"Key": "stack", "Value": {"Ref": "AWS::StackName"}},
    ]


def test_plan_mode_renders_no_tags_a_plan_carries_its_own(make_stack: MakeStack) -> None:
    stack = make_stack()
    execution = ProvisionedProductPlanExecution(stack, "Execution", plan_id="plan-abc123")
    cdk.Tags.of(stack).add("cost-center", "1234")
    cdk.Tags.of(execution).add("owner", "analytics")
    # A Tags property next to PlanId would be a spec property: the handler would refuse the resource.
    assert rendered(stack) is None
    assert execution.cdk_tag_manager.tag_values() == {"cost-center": "1234", "owner": "analytics"}


def test_tags_of_the_construct_never_reach_the_provider(make_stack: MakeStack) -> None:
    stack = make_stack()
    execution = ProvisionedProductPlanExecution(stack, "Execution", spec=spec())
    cdk.Tags.of(execution).add("owner", "analytics")
    template = Template.from_stack(stack)
    assert rendered(stack) == [{"Key": "owner", "Value": "analytics"}]
    for resource_type in PROVIDER_TYPES:
        for resource in template.find_resources(resource_type).values():
            tags = resource["Properties"].get("Tags", [])
            assert "owner" not in {t.get("Key") for t in tags}, resource_type


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ({f"k{i}": "v" for i in range(50)}, "Tags has 51 tags: Service Catalog takes at most 50"),
        ({"team": "data!"}, "'data!' is not a valid tag key or value"),
    ],
)
def test_tags_of_is_checked_with_the_handlers_rules_at_synth(
    make_stack: MakeStack, tag: dict[str, str], message: str
) -> None:
    stack = make_stack()
    ProvisionedProductPlanExecution(stack, "Execution", spec=spec(spec_tag="own"))
    for key, value in tag.items():
        cdk.Tags.of(stack).add(key, value)
    with pytest.raises(RuntimeError, match=message):
        Template.from_stack(stack)
