"""The product spec (instead of a PlanId) is validated as a pure function, before any AWS call."""

from __future__ import annotations

from typing import Any

import pytest

from sc_plan_provider.properties.spec import ProductSpec
from sc_plan_provider.properties.spec_checks import parse_product_spec
from sc_plan_provider.properties.spec_properties import declares_spec
from sc_plan_provider.properties.values import InvalidPropertyError

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
        ({"ProductId": None}, "ProductId (or ProductName) is missing"),
        (
            {"ProductId": None, "ProvisionedProductName": ""},
            "ProductId (or ProductName), ProvisionedProductName are missing",
        ),
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


NAMED: dict[str, Any] = {
    "ProductName": "Orders database",
    "ProvisioningArtifactName": "v1 (postgres 16)",
    "PathName": "Data platform",
    "ProvisionedProductName": "orders-db",
}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({**NAMED, "ProductId": "prod-abc123"}, "ProductId and ProductName are both given: give exactly one"),
        ({**NAMED, "ProvisioningArtifactId": "pa-v1"}, "ProvisioningArtifactId and ProvisioningArtifactName are both"),
        ({**NAMED, "PathId": "lpv3-abc"}, "PathId and PathName are both given"),
        (
            {"ProvisionedProductName": "orders-db", "PathName": "x"},
            "ProductId (or ProductName), ProvisioningArtifactId",
        ),
        ({**NAMED, "ProductName": ""}, "The product spec is incomplete: ProductId (or ProductName) is missing"),
        ({**NAMED, "ProductName": ["Orders"]}, "ProductName ['Orders'] is not a name Service Catalog takes"),
        ({**NAMED, "ProvisioningArtifactName": "   "}, "ProvisioningArtifactName '   ' is not a name"),
        ({**NAMED, "PathName": "p" * 101}, "PathName 'ppp"),
    ],
    ids=["product-both", "version-both", "path-both", "neither", "empty-name", "not-text", "blank", "too-long"],
)
def test_each_pair_takes_exactly_one_of_id_and_name(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidPropertyError) as refused:
        parse_product_spec(raw)
    assert message in str(refused.value)


def test_a_spec_by_names_resolves_to_the_same_spec_as_by_ids() -> None:
    by_ids = parse_product_spec({**SPEC, "PathId": "lpv3-data"})
    named = parse_product_spec(
        {**{k: v for k, v in SPEC.items() if k not in ("ProductId", "ProvisioningArtifactId")}, **NAMED}
    )
    assert named.names_given and named.product_id == "" and named.provisioning_artifact_id == ""
    assert named == parse_product_spec(named.as_properties())  # the construct's rendering round-trips
    assert named.digest() != by_ids.digest()  # unresolved, a spec equals only the same declaration
    resolved = named.resolved("prod-abc123", "pa-v1", "lpv3-data")
    assert not resolved.names_given
    assert resolved == by_ids
    assert resolved.digest() == by_ids.digest()  # what reaches Service Catalog: one plan token, one applied spec
    assert not resolved.is_new_product_of(by_ids)
