"""Drift on the local cloud: products changed behind their stacks' backs (an update by someone else,
a failed update that left the product TAINTED, a failed termination that left it in ERROR, a
termination outside the stack), seen by `sc-plan-execution drift` (its verdicts, JSON shape and exit
codes) and by the provider's scheduled check (the `Drifted` metric the construct's drift alarm
watches); then the way back, a new ReapplyToken, in plan and in spec mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events

from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import CustomResource
from local_cloud.cloudformation.api_server import ENDPOINT_ENV_VAR as CLOUDFORMATION_ENDPOINT
from local_cloud.cloudformation.template import custom_resources_in_template
from local_cloud.dynamodb import ENDPOINT_ENV_VAR as DYNAMODB_ENDPOINT
from local_cloud.servicecatalog import RecordError, SeededProduct, ServiceCatalogEmulator
from local_cloud.servicecatalog.emulator import ENDPOINT_ENV_VAR as SERVICE_CATALOG_ENDPOINT
from sc_plan_execution import PollingPolicy, ProviderOptions, ProvisionedProductPlanExecution
from support.metrics import emf_documents, listed, watches
from support.scenarios import product, spec_resource

STACK = "DriftedProducts"
FAST = PollingPolicy(interval_seconds=0.2, backoff_rate=1, max_interval_seconds=0.2)
# One resource per way a product drifts, and one left alone.
RESOURCES = ("InSync", "Modified", "Tainted", "Failed", "Gone")
SECRET = "s3cret-value-never-printed"  # a NoEcho parameter's value
DECLARED = [{"Key": "Size", "Value": "small"}, {"Key": "Password", "Value": SECRET}]
# The everything-at-once test: one local cloud for every verdict keeps CI's time in bounds.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def assembly(cdk_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from support.assembly import staged_app

    outdir = tmp_path_factory.mktemp("drift.out")
    app = staged_app(cdk_out, outdir)
    stack = cdk.Stack(app, STACK)
    options = ProviderOptions(drift_check_schedule=events.Schedule.rate(cdk.Duration.hours(1)))
    for index, name in enumerate(RESOURCES):
        execution = ProvisionedProductPlanExecution(
            stack, name, plan_id="plan-placeholder", polling=FAST, provider_options=options if index == 0 else None
        )
        execution.alarm_on_drift()
    app.synth()
    return outdir


@pytest.fixture
def cloud(assembly: Path) -> Iterator[LocalCloud]:
    with LocalCloud(assembly, stack_name=STACK, retry_delays=(0.5, 1.0)) as local_cloud:
        yield local_cloud
        denied = [(c.service, c.operation, c.resources) for c in local_cloud.calls() if c.denied]
    assert denied == [], f"the synthesized role does not grant: {denied}"


def template(assembly: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((assembly / f"{STACK}.template.json").read_text())
    return loaded


def declared_resources(assembly: Path, sc: ServiceCatalogEmulator, seeded: SeededProduct) -> list[CustomResource]:
    """The template's resources, each with a plan of its own (the declared parameters)."""
    resources = custom_resources_in_template(template(assembly), RESOURCE_TYPE)
    planned = []
    for resource in resources:
        plan_id = sc.create_plan(
            seeded.id, seeded.artifact_id("v1"), f"drift-{resource.logical_id.lower()}", parameters=DECLARED
        ).id
        planned.append(replace(resource, properties={**resource.properties, "PlanId": plan_id}))
    return planned


def drift(cloud: LocalCloud, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, with the account's administrator's credentials."""
    env = {
        **os.environ,
        SERVICE_CATALOG_ENDPOINT: cloud.servicecatalog.endpoint_url,
        DYNAMODB_ENDPOINT: cloud.dynamodb.endpoint_url,
        CLOUDFORMATION_ENDPOINT: cloud.cloudformation_api.endpoint_url,
        "AWS_DEFAULT_REGION": cloud.spec.region,
        "AWS_ACCESS_KEY_ID": "AKIAADMINISTRATOR",
        "AWS_SECRET_ACCESS_KEY": "administrator",
    }
    env.pop("AWS_SESSION_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "sc_plan_execution", "drift", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def owners_table(cloud: LocalCloud) -> str:
    (table,) = [name for logical_id, name in cloud.tables.items() if "Owners" in logical_id]
    return table


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def settled(sc: ServiceCatalogEmulator, product_id: str) -> bool:
    try:
        status = sc.client().describe_provisioned_product(Id=product_id)["ProvisionedProductDetail"]["Status"]
    except sc.client().exceptions.ResourceNotFoundException:
        return True
    return status != "UNDER_CHANGE"


def change_behind_the_stacks_back(sc: ServiceCatalogEmulator, seeded: SeededProduct, ids: dict[str, str]) -> None:
    """What other principals do to the products: an update, a failed update, a failed termination,
    a termination."""
    client = sc.client()
    version = {"ProductId": seeded.id, "ProvisioningArtifactId": seeded.artifact_id("v1")}
    keep_password = {"Key": "Password", "UsePreviousValue": True}
    client.update_provisioned_product(
        ProvisionedProductId=ids["Modified"],
        ProvisioningParameters=[{"Key": "Size", "Value": "large"}, keep_password],
        UpdateToken="console-update",
        **version,
    )
    client.update_provisioned_product(
        ProvisionedProductId=ids["Tainted"],
        ProvisioningParameters=[{"Key": "Size", "Value": "huge"}, keep_password],
        UpdateToken="failing-update",
        **version,
    )
    client.terminate_provisioned_product(ProvisionedProductId=ids["Failed"], TerminateToken="failing-terminate")
    client.terminate_provisioned_product(ProvisionedProductId=ids["Gone"], TerminateToken="gone", IgnoreErrors=True)
    for product_id in ids.values():
        wait_until(lambda product_id=product_id: settled(sc, product_id), f"{product_id} to settle")


def test_every_verdict_the_metric_the_alarm_and_the_way_back(assembly: Path, cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = product(
        sc,
        "drifting",
        duration=0.3,
        fails_with_parameters={"Size": "huge"},
        terminate_errors=[RecordError("DELETE_FAILED", "Bucket not empty")],
        no_echo_parameters=frozenset({"Password"}),
    )
    spec = spec_resource(seeded, "drift-spec", logical_id="Spec", ProvisioningParameters=DECLARED)
    stack = cloud.stack(STACK)
    created = stack.create(*declared_resources(assembly, sc, seeded), spec)
    assert created.status == "CREATE_COMPLETE", created
    ids = {o.logical_resource_id: str(o.physical_resource_id) for o in created.outcomes}
    logical = {name: next(i for i in ids if i.startswith(name)) for name in (*RESOURCES, "Spec")}
    by_name = {name: ids[logical[name]] for name in logical}
    table = owners_table(cloud)

    # Just deployed: every product is what its stack declares.
    before = drift(cloud, "--owners-table", table, "--json")
    assert before.returncode == 0, before.stderr
    assert {r["Verdict"] for r in json.loads(before.stdout)["Resources"]} == {"IN_SYNC"}

    change_behind_the_stacks_back(sc, seeded, {k: v for k, v in by_name.items() if k != "InSync"})
    sc.client().update_provisioned_product(
        ProvisionedProductId=by_name["Spec"],
        ProvisioningParameters=[{"Key": "Size", "Value": "medium"}, {"Key": "Password", "UsePreviousValue": True}],
        UpdateToken="spec-console-update",
    )
    wait_until(lambda: settled(sc, by_name["Spec"]), "the spec product to settle")

    report = drift(cloud, "--owners-table", table, "--json")
    assert report.returncode == 1, report.stderr  # drifted
    assert SECRET not in report.stdout
    document = json.loads(report.stdout)
    rows = {row["LogicalResourceId"]: row for row in document["Resources"]}
    verdicts = {name: rows[logical[name]]["Verdict"] for name in logical}
    assert verdicts == {
        "InSync": "IN_SYNC",
        "Modified": "MODIFIED",
        "Tainted": "TAINTED",
        "Failed": "ERROR",
        "Gone": "DELETED",
        "Spec": "MODIFIED",
    }
    assert document["Drifted"] == 5
    modified = rows[logical["Modified"]]
    assert modified["StackName"] == STACK and modified["ProvisionedProductId"] == by_name["Modified"]
    assert modified["Declared"]["Parameters"] == {"Size": "small", "Password": "****"}
    assert modified["Current"]["Parameters"] == {"Size": "large", "Password": "****"}
    assert modified["Current"]["Status"] == "AVAILABLE"
    assert modified["LastRecord"]["MadeBy"] == "someone else"
    assert "parameter Size differs" in modified["Reasons"]
    assert rows[logical["InSync"]]["LastRecord"]["MadeBy"] == "provider"
    assert "Bucket not empty" in " ".join(rows[logical["Failed"]]["Reasons"])

    # The table a person reads: the same verdicts, no secret.
    text = drift(cloud, "--owners-table", table)
    assert text.returncode == 1 and SECRET not in text.stdout
    assert "6 product(s) checked, 5 drifted." in text.stdout

    # The scheduled check: a Drifted metric per resource, which the resource's drift alarm watches.
    cloud.invoke_event({"DriftCheck": True})
    wait_until(lambda: any("Drift check done" in r.text for r in cloud.function.logs), "the drift check")
    documents = [d for d in emf_documents(cloud) if "Drifted" in d]
    alarms = {
        next(d["Value"] for d in r["Properties"]["Dimensions"] if d["Name"] == "LogicalResourceId"): r["Properties"]
        for r in template(assembly)["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("MetricName") == "Drifted"
    }
    assert set(alarms) == {logical[name] for name in RESOURCES}
    for name in RESOURCES:
        alarm = alarms[logical[name]]
        values = [v for d in documents if watches(alarm, d) for v in listed(d["Drifted"])]
        assert values, (name, documents)
        fires = max(values) >= alarm["Threshold"]
        assert fires == (name != "InSync"), (name, values)
    assert not any(SECRET in r.text for r in cloud.function.logs)

    # The way back: a new ReapplyToken re-applies what each stack declares.
    back = [replace(r, properties={**r.properties, "ReapplyToken": "1"}) for r in stack.resources.values()]
    updated = stack.update(
        *[r for r in back if r.logical_id in (logical["Modified"], logical["Tainted"], logical["Spec"])]
    )
    assert updated.status == "UPDATE_COMPLETE", updated
    after = drift(cloud, "--owners-table", table, "--json", "--stack", STACK)
    rows = {row["LogicalResourceId"]: row for row in json.loads(after.stdout)["Resources"]}
    assert rows[logical["Modified"]]["Verdict"] == "IN_SYNC", rows[logical["Modified"]]
    assert rows[logical["Modified"]]["LastRecord"]["MadeBy"] == "provider"
    assert rows[logical["Spec"]]["Verdict"] == "IN_SYNC", rows[logical["Spec"]]
    assert rows[logical["Tainted"]]["Verdict"] == "IN_SYNC", rows[logical["Tainted"]]
    assert after.returncode == 1  # the others still drifted

    # Only the stacks named; exit 0 when they are in sync.
    only_in_sync = drift(cloud, "--owners-table", table, "--stack", "SomeOtherStack")
    assert only_in_sync.returncode == 0 and "0 product(s) checked, 0 drifted." in only_in_sync.stdout

    # Errors: one line, exit 2.
    missing = drift(cloud, "--owners-table", "no-such-table")
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: could not read the owners table no-such-table")
    assert len(missing.stderr.strip().splitlines()) == 1
    unnamed = drift(cloud)
    assert unnamed.returncode == 2 and "--owners-table" in unnamed.stderr
