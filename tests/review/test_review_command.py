"""The review command through its public entry point (`python -m sc_plan_execution review`),
against the Service Catalog emulator: the table, the gate's verdict and the exit code a pipeline
step acts on."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from local_cloud.servicecatalog import ProvisioningScript, ServiceCatalogEmulator, ServiceRules


def change(logical_id: str, action: str = "MODIFY", replacement: str | None = "FALSE") -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "Action": action,
        "LogicalResourceId": logical_id,
        "ResourceType": "AWS::SQS::Queue",
        "Scope": ["PROPERTIES"] if action == "MODIFY" else [],
        "Details": [],
    }
    if replacement is not None:
        shaped["Replacement"] = replacement
    return shaped


@pytest.fixture
def sc() -> Iterator[ServiceCatalogEmulator]:
    # The real service's rules: a just-created plan is not found on its first read, which the
    # review command rides out.
    with ServiceCatalogEmulator(rules=ServiceRules.real()) as emulator:
        yield emulator


def planned(sc: ServiceCatalogEmulator, changes: list[dict[str, Any]]) -> str:
    seeded = sc.add_product("queue", ProvisioningScript(resource_changes=changes))
    return sc.create_plan(seeded.id, seeded.artifact_id("v1"), "queue-pp").id


def review(
    sc: ServiceCatalogEmulator, *args: str, without: tuple[str, ...] = (), **extra: str
) -> subprocess.CompletedProcess[str]:
    with sc.environment():
        env = {key: value for key, value in os.environ.items() if key not in without}
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "sc_plan_execution", "review", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_allowed_plan_prints_the_table_and_exits_zero(sc: ServiceCatalogEmulator) -> None:
    plan_id = planned(sc, [change("Orders"), change("Dead", "ADD", None)])
    result = review(sc, plan_id)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Plan {plan_id} (CREATE_SUCCESS)")
    header = next(line for line in lines if line.startswith("Action"))
    assert header.split() == ["Action", "LogicalResourceId", "ResourceType", "Replacement", "Gate"]
    assert any(line.split() == ["MODIFY", "Orders", "AWS::SQS::Queue", "FALSE", "ok"] for line in lines)
    assert any(line.split() == ["ADD", "Dead", "AWS::SQS::Queue", "-", "ok"] for line in lines)
    assert "Summary: 1 to add, 1 to modify (0 replaced or maybe replaced), 0 to remove" in result.stdout
    assert "Change gate: ALLOWED" in result.stdout


def test_replacement_is_refused_with_exit_one_and_allowed_by_the_flag(sc: ServiceCatalogEmulator) -> None:
    plan_id = planned(sc, [change("Orders", replacement="TRUE"), change("Audit", replacement="CONDITIONAL")])
    refused = review(sc, plan_id)
    assert refused.returncode == 1, refused.stderr
    assert "REFUSED: would be replaced (needs AllowReplacement)" in refused.stdout
    assert "REFUSED: may be replaced (Replacement CONDITIONAL" in refused.stdout
    assert 'Change gate: REFUSED - 2 change(s) need AllowReplacement: "true"' in refused.stdout
    allowed = review(sc, plan_id, "--allow-replacement")
    assert allowed.returncode == 0, allowed.stdout
    assert "Change gate: ALLOWED" in allowed.stdout


def test_removal_on_page_three_is_found(sc: ServiceCatalogEmulator) -> None:
    plan_id = planned(sc, [*(change(f"Queue{i:02d}") for i in range(45)), change("Legacy", "REMOVE", None)])
    result = review(sc, plan_id, "--allow-replacement")
    assert result.returncode == 1, result.stderr
    assert any(
        line.split()[:2] == ["REMOVE", "Legacy"] and "REFUSED: would be removed" in line
        for line in result.stdout.splitlines()
    )
    assert "46 resource change(s)" in result.stdout
    pages = sc.calls_to("DescribeProvisionedProductPlan")
    assert len([c for c in pages if c.error_code is None]) == 3 and all(c.params["PageSize"] == 20 for c in pages)
    assert review(sc, plan_id, "--allow-removal").returncode == 0


def test_unknown_plan_and_bad_id_exit_two_with_a_message(sc: ServiceCatalogEmulator) -> None:
    missing = review(sc, "plan-doesnotexist1")
    assert missing.returncode == 2
    assert "plan plan-doesnotexist1 was not found" in missing.stderr
    bad = review(sc, "not a plan")
    assert bad.returncode == 2
    assert "is not a plan id" in bad.stderr
    assert {c.params["PlanId"] for c in sc.calls} == {"plan-doesnotexist1"}  # the bad id never reached it


NO_AWS_CONFIG = {
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Exit 2 with exactly one line on stderr, and never a traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_no_region_exits_two_with_one_line(sc: ServiceCatalogEmulator) -> None:
    line = one_line_error(review(sc, "plan-abc", without=("AWS_DEFAULT_REGION", "AWS_REGION"), **NO_AWS_CONFIG))
    assert "region" in line.lower()


def test_no_credentials_exits_two_with_one_line(sc: ServiceCatalogEmulator) -> None:
    without = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
    line = one_line_error(review(sc, "plan-abc", without=without, **NO_AWS_CONFIG))
    assert "credentials" in line.lower()


def test_access_denied_exits_two_with_one_line(sc: ServiceCatalogEmulator) -> None:
    plan_id = planned(sc, [change("Orders")])
    sc.deny(["DescribeProvisionedProductPlan"])
    line = one_line_error(review(sc, plan_id))
    assert "access denied" in line and "servicecatalog:DescribeProvisionedProductPlan" in line


def test_a_missing_plan_exits_two_with_one_line(sc: ServiceCatalogEmulator) -> None:
    assert "was not found" in one_line_error(review(sc, "plan-doesnotexist1"))


def test_the_command_starts_without_aws_cdk_and_the_package_still_exports_everything() -> None:
    """A pipeline step runs the review command: it must not start aws_cdk and its Node.js runtime.
    The construct library's exports are loaded when first used."""
    probe = (
        "import sys, sc_plan_execution.review\n"
        "print('aws_cdk' in sys.modules)\n"
        "import sc_plan_execution as package\n"
        "print(all(getattr(package, name) is not None for name in package.__all__))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split() == ["False", "True"]


EXIT_CODES = ("0  ", "1  ", "2  ")


def exit_codes_listed(help_text: str) -> None:
    """The help's epilog names each exit code a pipeline step acts on, one a line."""
    listed = [line.strip() for line in help_text.splitlines() if line.strip()[:3] in EXIT_CODES]
    assert [line[:1] for line in listed] == ["0", "1", "2"], help_text
    assert "allow" in listed[0].lower() and "refuse" in listed[1].lower() and "error" in listed[2].lower(), listed


def test_review_help_run_with_python_m_names_the_module_and_lists_exit_codes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sc_plan_execution", "review", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.startswith("usage: python -m sc_plan_execution review "), done.stdout
    positional = done.stdout.split("positional arguments:")[1].split("options:")[0]
    assert positional.split()[0] == "PLAN_ID"
    assert "plan" in " ".join(positional.split()[1:]).lower()  # a help text, not the bare name
    exit_codes_listed(done.stdout)


def test_help_of_the_script_names_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    """The console script `sc-plan-execution` calls main() with no program name."""
    from sc_plan_execution.review import main

    for argv in (["review", "--help"], ["--help"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 0
        shown = capsys.readouterr().out
        assert shown.startswith(f"usage: sc-plan-execution {argv[0] if len(argv) == 2 else ''}".rstrip()), shown
        assert "python -m" not in shown
        exit_codes_listed(shown)


def test_drift_help_names_the_script_and_lists_its_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    from sc_plan_execution.review import main

    with pytest.raises(SystemExit) as exited:
        main(["drift", "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage: sc-plan-execution drift "), shown
    for option in ("--owners-table", "--provider-stack", "--stack", "--json", "--region"):
        assert option in shown
    listed = [line.strip() for line in shown.splitlines() if line.strip()[:3] in EXIT_CODES]
    assert [line[:1] for line in listed] == ["0", "1", "2"], shown
    assert "IN_SYNC" in listed[0] and "drifted" in listed[1] and "error" in listed[2]
