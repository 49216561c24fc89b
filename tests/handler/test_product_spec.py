"""The product spec (instead of a PlanId) is validated as a pure function, before any AWS call."""

from __future__ import annotations

from typing import Any

import pytest

from sc_plan_provider.product_spec import ProductSpec, declares_spec, parse_product_spec
from sc_plan_provider.property_values import InvalidPropertyError

SPEC: dict[str, Any] = {
    "ProductId": "prod-abc123",
    "ProvisioningArtifactId": "pa-v1",
    "ProvisionedProductName": "orders-db",
    "ProvisioningParameters": [{"Key": "Size", "Value": "small"}, {"Key": "Engine", "Value": "postgres"}],
    "Tags": [{"Key": "team", "Value": "orders"}],
    "NotificationArns": ["arn:aws:sns:us-east-1:123456789012:sc-events"],
}


def test_a_complete_spec_parses_in_order() -> None:
    spec = parse_product_spec(SPEC)
    assert spec == ProductSpec(
        product_id="prod-abc123",
        provisioning_artifact_id="pa-v1",
        provisioned_product_name="orders-db",
        parameters=(("Size", "small"), ("Engine", "postgres")),
        tags=(("team", "orders"),),
        notification_arns=("arn:aws:sns:us-east-1:123456789012:sc-events",),
    )
    assert declares_spec(SPEC)
    assert not declares_spec({"PlanId": "plan-1", "ProvisioningParameters": []})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ProductId": None}, "ProductId is missing"),
        ({"ProductId": None, "ProvisionedProductName": ""}, "ProductId, ProvisionedProductName are missing"),
        ({"ProvisioningArtifactId": "pa v1"}, "ProvisioningArtifactId 'pa v1' is not a Service Catalog id"),
        ({"ProvisionedProductName": "-db"}, "ProvisionedProductName '-db' is not allowed"),
        ({"ProvisioningParameters": "Size=small"}, "ProvisioningParameters must be a list of {Key, Value}"),
        (
            {"ProvisioningParameters": [{"Key": "A", "Value": "1"}, {"Key": "A", "Value": "2"}]},
            "names A more than once",
        ),
        ({"Tags": [{"Key": "team", "Value": "a|b"}]}, "Tags: 'a|b' is not a valid tag"),
        ({"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}, "Service Catalog takes at most 50"),
        ({"NotificationArns": ["sns-topic"]}, "NotificationArns: 'sns-topic' is not an SNS topic ARN"),
    ],
)
def test_each_bad_spec_is_refused_naming_the_property(change: dict[str, Any], message: str) -> None:
    raw = {key: value for key, value in {**SPEC, **change}.items() if value is not None}
    with pytest.raises(InvalidPropertyError) as refused:
        parse_product_spec(raw)
    assert message in str(refused.value)


def test_a_new_name_or_product_is_another_provisioned_product() -> None:
    spec = parse_product_spec(SPEC)
    assert not parse_product_spec({**SPEC, "ProvisioningArtifactId": "pa-v2"}).is_new_product_of(spec)
    assert parse_product_spec({**SPEC, "ProvisionedProductName": "orders-db-2"}).is_new_product_of(spec)
    assert parse_product_spec({**SPEC, "ProductId": "prod-other"}).is_new_product_of(spec)
