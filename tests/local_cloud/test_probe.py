"""The live probe (local_cloud/servicecatalog/probe.py) against the emulator: under each setting of
each question it asks, it must report exactly that setting, and leave no plan or product behind,
also when a step fails."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_cloud.servicecatalog import (
    NO_UPDATES_MESSAGE,
    ProvisioningScript,
    RecordError,
    SeededProduct,
    ServiceCatalogEmulator,
    ServiceRules,
)
from local_cloud.servicecatalog.errors import AccessDeniedException
from local_cloud.servicecatalog.probe import Pacing, Probe, ProbeResult, ProbeTarget, main

FAST = Pacing(poll_interval=0.002, timeout=5.0, agreeing_reads=3, settle=0.0)
PARAMETERS = {"Mode": "ok"}
FAILING = {"Mode": "broken"}  # accepted when planned, fails when executed (as a bad value would)


@pytest.fixture
def emulator() -> Iterator[ServiceCatalogEmulator]:
    # The wall clock: the probe sleeps between its reads; every scripted duration is 0.
    with ServiceCatalogEmulator(rules=ServiceRules.real()) as sc:
        yield sc


def target_product(sc: ServiceCatalogEmulator, **script: Any) -> SeededProduct:
    return sc.add_product("probe-target", ProvisioningScript(**{"fails_with_parameters": FAILING, **script}))


def run_probe(
    sc: ServiceCatalogEmulator, product: SeededProduct, *, failing: bool = False
) -> tuple[ProbeResult, list[str]]:
    log: list[str] = []
    target = ProbeTarget(
        product_id=product.id,
        artifact_id=product.artifact_id("v1"),
        parameters=PARAMETERS,
        failing_parameters=FAILING if failing else None,
    )
    client = sc.client(retries={"mode": "standard", "total_max_attempts": 1})
    # Answers about a change count once more reads agree than the replica lags (rules.py, rule 6).
    pacing = dataclasses.replace(FAST, agreeing_reads=max(FAST.agreeing_reads, sc.rules.stale_reads + 1))
    return Probe(client, target, pacing, log=log.append).run(), log


def assert_nothing_left(sc: ServiceCatalogEmulator) -> None:
    assert sc.plans() == []
    assert sc.provisioned_products() == []


ALWAYS_PROBED = {
    "placeholder_after_plan_deleted",
    "execute_refusal_error",
    "execute_token_replays",
    "executed_plans_count",
    "one_plan_per_product",
    "no_changes_message",
}

EXECUTE_CODES = ("InvalidParametersException", "ResourceNotFoundException", "ValidationException")
PLAN_CODES = ("InvalidParametersException", "ResourceNotFoundException")
SETTINGS: list[tuple[str, dict[str, Any], bool]] = [
    ("real", {}, False),
    *[(f"execute_refusal_error={code}", {"execute_refusal_error": code}, False) for code in EXECUTE_CODES],
    ("execute_token_replays=False", {"execute_token_replays": False}, False),
    *[(f"one_plan_error={code}", {"one_plan_error": code}, False) for code in PLAN_CODES],
    ("executed_plans_count=False", {"executed_plans_count": False}, False),
    (
        "executed_plans_count=False,one_plan_error=InvalidParametersException",
        {"executed_plans_count": False, "one_plan_error": "InvalidParametersException"},
        False,
    ),
    ("one_plan_per_product=False", {"one_plan_per_product": False, "executed_plans_count": False}, False),
    ("placeholder_after_plan_deleted=removed", {"placeholder_after_plan_deleted": "removed"}, False),
    ("no_changes_message=No updates", {"no_changes_message": NO_UPDATES_MESSAGE}, False),
    ("failed_plan_delete_needs_ignore_errors=True", {}, True),
    ("failed_plan_delete_needs_ignore_errors=False", {"failed_plan_delete_needs_ignore_errors": False}, True),
    ("lag of 3 reads", {"not_found_reads": 3, "stale_reads": 3}, True),
]


@pytest.mark.parametrize(("changes", "failing"), [(c, f) for _, c, f in SETTINGS], ids=[i for i, _, _ in SETTINGS])
def test_probe_reports_exactly_the_emulators_setting(
    emulator: ServiceCatalogEmulator, changes: dict[str, Any], failing: bool
) -> None:
    played = dataclasses.replace(ServiceRules.real(), **changes)
    emulator.rules = played
    product = target_product(emulator)

    result, log = run_probe(emulator, product, failing=failing)

    assert result.complete, (result.rules.observed, log)
    expected = set(ALWAYS_PROBED)
    if played.one_plan_per_product:
        expected.add("one_plan_error")
    if failing:
        expected.add("failed_plan_delete_needs_ignore_errors")
    assert set(result.probed) == expected
    assert {name: getattr(result.rules, name) for name in expected} == {
        name: getattr(played, name) for name in expected
    }
    unprobed = set(ServiceRules.rule_names()) - expected
    real = ServiceRules.real()
    assert {name: getattr(result.rules, name) for name in unprobed} == {name: getattr(real, name) for name in unprobed}
    assert_nothing_left(emulator)


def test_probe_records_what_it_saw(emulator: ServiceCatalogEmulator) -> None:
    product = target_product(emulator)
    result, log = run_probe(emulator, product, failing=True)
    observed = result.rules.observed
    assert observed["execute_again"]["code"] == "InvalidStateException"
    assert "only a plan in CREATE_SUCCESS can be executed" in observed["execute_again"]["message"]
    assert observed["plan_next_to_executed_plan"]["refused"] is True
    assert observed["no_changes"] == {"status": "CREATE_FAILED", "message": ServiceRules.real().no_changes_message}
    assert observed["placeholder_after_plan_deleted"] == {"status": "PLAN_IN_PROGRESS"}
    assert observed["placeholder_terminate"] == {"record_status": "SUCCEEDED", "gone": True}
    assert "Cannot delete ChangeSet in execution status EXECUTE_FAILED" in observed["failed_plan_delete"]["message"]
    assert observed["not_found_reads"]["DescribeRecord"] >= 1  # real(): each new record lags one read
    assert observed["probe"]["product_id"] == product.id
    assert log[-1] == "cleaned up: every plan deleted, every provisioned product terminated"
    names = {c.params["ProvisionedProductName"] for c in emulator.calls_to("CreateProvisionedProductPlan")}
    assert len(names) == 1  # one product name; the kept placeholder was terminated and the name reused
    # Every delete passes IgnoreErrors but the one that asks whether an EXECUTE_FAILED plan needs it.
    plain = [c for c in emulator.calls_to("DeleteProvisionedProductPlan") if not c.params.get("IgnoreErrors")]
    assert [c.error_code for c in plain] == ["ValidationException"]


# --------------------------------------------------------------------------- failures and cleanup


def test_product_that_does_not_launch_stops_the_probe_and_is_cleaned_up(emulator: ServiceCatalogEmulator) -> None:
    failing = [RecordError("CREATE_FAILED", "Bucket already exists")]
    product = target_product(emulator, errors=failing, fails_with_parameters={})
    result, _ = run_probe(emulator, product)
    assert not result.complete
    assert (
        "the product did not launch (FAILED): CREATE_FAILED: Bucket already exists" in result.rules.observed["failure"]
    )
    assert result.probed == ("placeholder_after_plan_deleted",)
    assert_nothing_left(emulator)


def test_injected_failure_mid_way_still_cleans_up(emulator: ServiceCatalogEmulator) -> None:
    product = target_product(emulator)
    emulator.deny(["ExecuteProvisionedProductPlan"])
    result, _ = run_probe(emulator, product)
    assert not result.complete
    assert "AccessDeniedException" in result.rules.observed["failure"]
    assert_nothing_left(emulator)


def test_unreadable_records_do_not_stop_the_cleanup(emulator: ServiceCatalogEmulator) -> None:
    product = target_product(emulator)
    emulator.inject_failure("DescribeRecord", AccessDeniedException("not allowed: servicecatalog:DescribeRecord"))
    result, _ = run_probe(emulator, product)
    assert not result.complete
    assert "DescribeRecord" in result.rules.observed["failure"]
    assert_nothing_left(emulator)


def test_terminate_that_fails_is_retried_with_ignore_errors(emulator: ServiceCatalogEmulator) -> None:
    product = target_product(emulator, terminate_errors=[RecordError("DELETE_FAILED", "bucket not empty")])
    result, log = run_probe(emulator, product)
    assert result.complete
    assert any("terminating with IgnoreErrors" in line for line in log)
    terminations = emulator.calls_to("TerminateProvisionedProduct")
    assert [c.params.get("IgnoreErrors") for c in terminations] == [False, False, True]  # placeholder, product x2
    assert_nothing_left(emulator)


def test_cleanup_problem_is_reported_and_fails_the_run(emulator: ServiceCatalogEmulator) -> None:
    product = target_product(emulator)
    emulator.deny(["TerminateProvisionedProduct"])
    result, log = run_probe(emulator, product)
    assert not result.complete
    problems = result.rules.observed["cleanup_problems"]
    assert len(problems) == 1
    assert problems[0].startswith("provisioned product pp-")
    assert any(line.startswith("CLEANUP FAILED, remove by hand:") for line in log)
    assert emulator.plans() == []


# --------------------------------------------------------------------------- command line


def test_command_writes_a_profile_the_emulator_loads(emulator: ServiceCatalogEmulator, tmp_path: Path) -> None:
    emulator.rules = dataclasses.replace(ServiceRules.real(), execute_refusal_error="ValidationException")
    product = target_product(emulator)
    out = tmp_path / "profile.json"
    argv = [
        "--product-id", product.id,
        "--artifact-id", product.artifact_id("v1"),
        "--parameters", "Mode=ok",
        "--failing-parameters", "Mode=broken",
        "--out", str(out),
        "--poll-interval", "0.002", "--timeout", "5", "--settle", "0",
    ]  # fmt: skip
    with emulator.environment():  # an unmodified boto3 session, pointed at the emulator
        assert main(argv) == 0
    loaded = ServiceRules.load(out)
    assert (loaded.name, loaded.execute_refusal_error) == ("probed", "ValidationException")
    assert loaded.failed_plan_delete_needs_ignore_errors is True
    assert loaded.observed["execute_again"]["code"] == "ValidationException"
    with ServiceCatalogEmulator(rules=loaded) as replay:
        assert replay.rules == loaded
    assert_nothing_left(emulator)


def test_command_skips_without_credentials(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    assert main(["--product-id", "prod-abc", "--artifact-id", "pa-abc"]) == 0
    assert capsys.readouterr().out == "live probe skipped: no AWS credentials found\n"


def test_command_skips_without_a_product(
    emulator: ServiceCatalogEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SC_PROBE_PRODUCT_ID", raising=False)
    monkeypatch.delenv("SC_PROBE_ARTIFACT_ID", raising=False)
    with emulator.environment():
        assert main([]) == 0
    assert "live probe skipped: set SC_PROBE_PRODUCT_ID and SC_PROBE_ARTIFACT_ID" in capsys.readouterr().out
    assert emulator.calls == []
