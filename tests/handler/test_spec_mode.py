"""Spec mode through the entry point (Stubber on Service Catalog) and its small pure rules."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from sc_plan_provider.properties.resource import parse_properties
from sc_plan_provider.properties.spec import ProductSpec
from sc_plan_provider.properties.values import InvalidPropertyError
from sc_plan_provider.records.in_process import InProcessOwnerRegistry
from sc_plan_provider.records.owners import Owner
from sc_plan_provider.servicecatalog.planning import is_no_changes
from sc_plan_provider.servicecatalog.shapes import Plan
from support import sc_stubs as sc
from support.cfn_requests import Answers, invoke, make_event

FAST = {"PollingIntervalSeconds": "0.1", "PollingBackoffRate": "1", "PollingMaxIntervalSeconds": "0.1"}
SPEC = {
    "ProductId": sc.CATALOG_PRODUCT_ID,
    "ProvisioningArtifactId": sc.ARTIFACT_ID,
    "ProvisionedProductName": "bucket-pp",
    "ProvisioningParameters": [{"Key": "Size", "Value": "small"}],
}
NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."


def create_plan(stub: Stubber) -> None:
    stub.add_response(
        "create_provisioned_product_plan",
        {"PlanId": sc.PLAN_ID, "ProvisionProductId": sc.PRODUCT_ID},
        {
            "PlanName": ANY,
            "PlanType": "CLOUDFORMATION",
            "ProductId": sc.CATALOG_PRODUCT_ID,
            "ProvisioningArtifactId": sc.ARTIFACT_ID,
            "ProvisionedProductName": "bucket-pp",
            "ProvisioningParameters": [{"Key": "Size", "Value": "small"}],
            "IdempotencyToken": ANY,
        },
    )


def delete_plan(stub: Stubber) -> None:
    # Always with IgnoreErrors: a failed execution's change set cannot be deleted otherwise.
    stub.add_response("delete_provisioned_product_plan", {}, {"PlanId": sc.PLAN_ID, "IgnoreErrors": True})


def test_nothing_to_change_is_a_success_reporting_the_product_and_the_plan_is_deleted(
    stub: Stubber, answers: Answers
) -> None:
    # The name is a product no stack owns: adopted on purpose, then its plans are looked for.
    sc.describe_product(stub, "AVAILABLE", by_name="bucket-pp")
    sc.list_plans(stub)
    create_plan(stub)
    sc.describe_plan(stub, "CREATE_FAILED", message=NO_CHANGES)
    delete_plan(stub)
    sc.describe_product(stub, "AVAILABLE")
    sc.describe_record(stub, "SUCCEEDED", outputs={"Name": "bucket-1"})
    invoke(make_event("Create", {**SPEC, **FAST, "NoEcho": "true", "AdoptExisting": "true"}))
    body = answers.only
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"] == sc.PRODUCT_ID
    assert body["Data"]["Outputs.Name"] == "bucket-1"
    assert body["NoEcho"] is True


def test_other_failed_plan_is_failed_with_its_message_and_a_failing_cleanup_is_not_fatal(
    stub: Stubber, answers: Answers
) -> None:
    sc.not_found(stub, "describe_provisioned_product")  # a new name
    create_plan(stub)
    sc.describe_plan(stub, "CREATE_FAILED", message="Parameter Size must be one of small, large")
    sc.invalid_state(stub, "delete_provisioned_product_plan")
    for _ in range(3):  # the new product's placeholder went with its plan (looked for a moment first)
        sc.not_found(stub, "describe_provisioned_product")
    invoke(make_event("Create", {**SPEC, **FAST}))
    body = answers.only
    assert body["Status"] == "FAILED"
    assert "CREATE_FAILED: Parameter Size must be one of small, large" in body["Reason"]
    assert body["PhysicalResourceId"].startswith("not-provisioned-")


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"PlanId": "plan-1", **SPEC}, "PlanId and a product spec (ProductId, ProvisioningArtifactId, "),
        ({}, "PlanId is required"),
        (
            {"ProductId": "prod-1"},
            "ProvisioningArtifactId (or ProvisioningArtifactName), ProvisionedProductName are missing",
        ),
        ({**SPEC, "NoEcho": "yes"}, 'NoEcho "yes" is not a boolean'),
        ({**SPEC, "ProductName": "Bucket"}, "ProductId and ProductName are both given"),
        ({**SPEC, "PathId": "lpv3-a", "PathName": "Data"}, "PathId and PathName are both given"),
        ({**SPEC, "AdoptExisting": "maybe"}, 'AdoptExisting "maybe" is not a boolean'),
        ({**SPEC, "TerminateIgnoreErrors": "1"}, 'TerminateIgnoreErrors "1" is not a boolean'),
    ],
    ids=["both", "neither", "incomplete", "no-echo", "product-pair", "path-pair", "adopt", "ignore-errors"],
)
def test_bad_input_fails_before_any_call(
    stub: Stubber, answers: Answers, properties: dict[str, Any], reason: str
) -> None:
    invoke(make_event("Create", properties))
    assert answers.only["Status"] == "FAILED"
    assert reason in answers.only["Reason"]


def test_parse_properties_gives_a_spec_or_a_plan_id() -> None:
    with_spec = parse_properties(SPEC)
    assert with_spec.plan_id is None and with_spec.spec is not None
    assert with_spec.spec.parameters == (("Size", "small"),)
    with_plan = parse_properties({"PlanId": "plan-1"})
    assert with_plan.spec is None and with_plan.plan_id == "plan-1" and not with_plan.no_echo
    with pytest.raises(InvalidPropertyError, match=r"^The product spec is incomplete"):
        parse_properties({"ProvisionedProductName": "x"})


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (NO_CHANGES, True),
        ("No updates are to be performed.", True),
        ("The submitted information did not contain changes.", True),
        ("The submitted information didn\u2019t contain any changes.", True),
        ("Parameter Size is invalid", False),
        ("", False),
    ],
)
def test_no_changes_is_recognised_from_the_status_message(message: str, expected: bool) -> None:
    plan = Plan(plan_id="plan-1", status="CREATE_FAILED", status_message=message, provisioned_product_id="pp-1")
    assert is_no_changes(plan) is expected


def test_spec_digest_ignores_order_but_not_values() -> None:
    spec = ProductSpec.of(
        product_id="prod-1",
        provisioning_artifact_id="pa-1",
        provisioned_product_name="n",
        parameters={"A": "1", "B": "2"},
    )
    reordered = ProductSpec.of(
        product_id="prod-1",
        provisioning_artifact_id="pa-1",
        provisioned_product_name="n",
        parameters={"B": "2", "A": "1"},
    )
    changed = ProductSpec.of(
        product_id="prod-1",
        provisioning_artifact_id="pa-1",
        provisioned_product_name="n",
        parameters={"A": "1", "B": "3"},
    )
    assert spec.digest() == reordered.digest() != changed.digest()


def test_in_process_registry_keeps_the_owners_applied_specs_only() -> None:
    registry = InProcessOwnerRegistry()
    owner, other = Owner("stack-a", "Bucket"), Owner("stack-b", "Bucket")
    registry.claim("pp-1", owner, "request-1")
    registry.spec_applied("pp-1", owner, "digest-1")
    registry.spec_applied("pp-1", other, "digest-2")  # not the owner: not recorded
    assert registry.applied_specs("pp-1") == frozenset({"digest-1"})
    assert registry.applied_specs("pp-2") == frozenset()


NAMED = {
    "ProductName": "Bucket",
    "ProvisioningArtifactName": "v2",
    "ProvisionedProductName": "bucket-pp",
    "ProvisioningParameters": [{"Key": "Size", "Value": "small"}],
}


def test_names_are_resolved_before_planning_and_the_plan_gets_ids(stub: Stubber, answers: Answers) -> None:
    sc.describe_catalog_product(
        stub, artifacts=[("pa-old", "v1", "DEPRECATED"), (sc.ARTIFACT_ID, "v2", "DEFAULT")]
    )  # one launch path: the spec need not choose
    sc.not_found(stub, "describe_provisioned_product")  # a new name
    create_plan(stub)  # ProductId and ProvisioningArtifactId, no PathId: Service Catalog's default path
    sc.describe_plan(stub, "CREATE_FAILED", message="Parameter Size must be one of small, large")
    delete_plan(stub)
    for _ in range(3):
        sc.not_found(stub, "describe_provisioned_product")
    invoke(make_event("Create", {**NAMED, **FAST}))
    assert "CREATE_FAILED: Parameter Size must be one of small, large" in answers.only["Reason"]


@pytest.mark.parametrize(
    ("properties", "describe", "reason"),
    [
        (
            NAMED,
            {"artifacts": [("pa-1", "v1", "DEFAULT"), ("pa-3", "v3", "DEFAULT")]},
            "ProvisioningArtifactName 'v2' is not an active version of product Bucket (prod-aaaaaaaaaaaaa): its "
            "versions are v1 (pa-1, DEFAULT), v3 (pa-3, DEFAULT).",
        ),
        (
            NAMED,
            {"artifacts": [("pa-1", "v2", "DEFAULT"), ("pa-2", "v2", "DEFAULT")]},
            "ProvisioningArtifactName 'v2' names 2 versions of product Bucket (prod-aaaaaaaaaaaaa): v2 (pa-1, "
            "DEFAULT), v2 (pa-2, DEFAULT). Give ProvisioningArtifactId instead.",
        ),
        (
            {**NAMED, "ProvisioningArtifactName": None, "ProvisioningArtifactId": sc.ARTIFACT_ID},
            {"paths": [(f"lpv3-{i}", f"Portfolio {i}") for i in range(12)]},
            "has 12 launch paths for the provider function's role, so the spec must choose one with PathName (the "
            "portfolio's name) or PathId: Portfolio 0 (lpv3-0), Portfolio 1 (lpv3-1), Portfolio 2 (lpv3-2), Portfolio "
            "3 (lpv3-3), Portfolio 4 (lpv3-4), Portfolio 5 (lpv3-5), Portfolio 6 (lpv3-6), Portfolio 7 (lpv3-7), "
            "Portfolio 8 (lpv3-8), Portfolio 9 (lpv3-9) and 2 more.",
        ),
        (
            {**NAMED, "ProductName": None, "ProductId": sc.CATALOG_PRODUCT_ID, "PathName": "Sales"},
            {"by_name": False, "artifacts": [(sc.ARTIFACT_ID, "v2", "DEFAULT")]},
            "PathName 'Sales' is not a launch path of product Bucket (prod-aaaaaaaaaaaaa) for the provider "
            "function's role (launch paths are named after their portfolios): Portfolio (lpv3-aaaaaaaaaaaa).",
        ),
    ],
    ids=["unknown-version", "ambiguous-version", "many-paths", "unknown-path"],
)
def test_names_that_do_not_resolve_fail_before_planning(
    stub: Stubber, answers: Answers, properties: dict[str, Any], describe: dict[str, Any], reason: str
) -> None:
    sc.describe_catalog_product(stub, **describe)
    invoke(make_event("Create", {k: v for k, v in {**properties, **FAST}.items() if v is not None}))
    assert answers.only["Status"] == "FAILED"
    assert reason in answers.only["Reason"]
    assert answers.only["PhysicalResourceId"].startswith("not-provisioned-")


def test_an_unknown_product_name_says_how_the_role_gets_to_see_it(stub: Stubber, answers: Answers) -> None:
    stub.add_client_error(
        "describe_product",
        service_error_code="ResourceNotFoundException",
        service_message="No launch paths found for resource: Bucket",
        http_status_code=400,
        expected_params={"Name": "Bucket"},
    )
    invoke(make_event("Create", {**NAMED, **FAST}))
    reason = answers.only["Reason"]
    assert reason.startswith("ProductName 'Bucket' is not a product the provider function's role can see")
    assert "Check the name (it must match exactly)" in reason and "AssociatePrincipalWithPortfolio" in reason
