"""The provider as `make package` ships it: the function from that very code zip, with the packaged
template's settings and tables, answering CloudFormation on the local cloud."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from local_cloud.cloud import PROVIDER_HANDLER, LocalCloud
from local_cloud.lambda_runtime import FunctionSpec
from sc_plan_execution import DEFAULT_EXPORT_NAME
from sc_plan_execution.bundling import find_pyodide, sources_without_bytecode
from sc_plan_execution.standalone import (
    CODE_KEY_PARAMETER,
    DRIFT_CHECK_SCHEDULE_PARAMETER,
    TEMPLATE_NAME,
    ZIP_PREFIX,
    StandalonePackage,
    package,
)
from sc_plan_provider import __version__
from support.bytecode import bytecode_problems
from support.metrics import emf_documents, listed
from support.scenarios import executions, plan, product, resource

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def standalone_package(tmp_path_factory: pytest.TempPathFactory) -> StandalonePackage:
    """`make test` runs `make package` first; a bare `pytest` packages into a temp dir (pip bundling)."""
    dist = REPO / "dist"
    template = dist / TEMPLATE_NAME
    if template.exists():
        key = json.loads(template.read_text())["Parameters"][CODE_KEY_PARAMETER]["Default"]
        if (dist / key).exists():
            return StandalonePackage(code_zip=dist / key, template=template)
    return package(tmp_path_factory.mktemp("dist"))


def test_code_key_default_names_the_versioned_zip(standalone_package: StandalonePackage, tmp_path: Path) -> None:
    template: dict[str, Any] = json.loads(standalone_package.template.read_text())
    key = template["Parameters"][CODE_KEY_PARAMETER]["Default"]
    assert key == standalone_package.code_zip.name
    assert key.startswith(f"{ZIP_PREFIX}-{__version__}-") and key.endswith(".zip")
    with zipfile.ZipFile(standalone_package.code_zip) as archive:
        names = archive.namelist()
        files = {name: archive.read(name) for name in names}
    assert names == sorted(names)
    assert "sc_plan_provider/handler.py" in names and "crhelper/resource_helper.py" in names
    # Bytecode for the runtime's Python, as the construct's asset has (pyodide, package.json), and
    # python3.14's own import system uses every file of it.
    assert bytecode_problems(files) == []
    pyodide = find_pyodide(REPO)
    assert pyodide is not None, "npm ci installs pyodide (package.json)"
    with zipfile.ZipFile(standalone_package.code_zip) as archive:
        archive.extractall(tmp_path / "code")
    assert sources_without_bytecode(tmp_path / "code", pyodide) == []


def test_function_from_the_zip_creates_and_deletes_with_the_template_settings(
    standalone_package: StandalonePackage, tmp_path: Path
) -> None:
    code_dir = tmp_path / "code"
    with zipfile.ZipFile(standalone_package.code_zip) as archive:
        archive.extractall(code_dir)
    spec = FunctionSpec.from_template(
        standalone_package.template, code_dir, PROVIDER_HANDLER, stack_name="sc-plan-provider"
    )
    assert (spec.timeout, spec.memory_size, spec.runtime, spec.tracing_mode) == (900.0, 256, "python3.14", "Active")
    # Refs to the template's tables: resolved to the local ones below.
    assert set(spec.unresolved_environment) == {"REQUESTS_TABLE_NAME", "OWNERS_TABLE_NAME"}

    with LocalCloud(spec=spec, retry_delays=(0.5, 1.0)) as cloud:
        assert cloud.function.spec.asset_dir == code_dir.resolve()
        # The request ledger and owners tables the template declares.
        resources = json.loads(standalone_package.template.read_text())["Resources"]
        assert sorted(cloud.tables) == sorted(k for k, v in resources.items() if v["Type"] == "AWS::DynamoDB::Table")
        assert cloud.exports == {DEFAULT_EXPORT_NAME: spec.function_arn}
        sc = cloud.servicecatalog
        stack = cloud.stack("standalone")

        created = stack.create(resource(plan(sc, product(sc, outputs={"BucketName": "from-zip"}))))
        assert created.status == "CREATE_COMPLETE", created
        (answer,) = created.outcomes
        assert answer.status == "SUCCESS"
        assert answer.data["Outputs.BucketName"] == "from-zip"
        for table in cloud.tables.values():  # the request in the ledger, the product's owner
            assert cloud.dynamodb.client().scan(TableName=table)["Items"], table

        deleted = stack.delete()
        assert deleted.status == "DELETE_COMPLETE", deleted
        assert deleted.outcomes[0].status == "SUCCESS"
        assert executions(sc) == 1
        assert sc.provisioned_products() == []


def test_the_drift_check_schedule_parameter_runs_the_check_from_the_zip(
    standalone_package: StandalonePackage, tmp_path: Path
) -> None:
    """The packaged template deployed with DriftCheckSchedule given: its rule's input runs the drift
    check in the function from the zip, which may now scan the owners table and publishes a
    Drifted metric per resource. With the parameter empty (its default) the role has no Scan."""
    code_dir = tmp_path / "code"
    with zipfile.ZipFile(standalone_package.code_zip) as archive:
        archive.extractall(code_dir)
    deployed = json.loads(standalone_package.template.read_text())
    rules = [r for r in deployed["Resources"].values() if r["Type"] == "AWS::Events::Rule"]
    (check_event,) = [json.loads(target["Input"]) for rule in rules for target in rule["Properties"]["Targets"]]

    def run_the_check(schedule: str) -> tuple[LocalCloud, Any]:
        # The template as CloudFormation deploys it with this parameter value.
        deployed["Parameters"][DRIFT_CHECK_SCHEDULE_PARAMETER]["Default"] = schedule
        template = tmp_path / f"deployed-{len(schedule)}.template.json"
        template.write_text(json.dumps(deployed))
        spec = FunctionSpec.from_template(template, code_dir, PROVIDER_HANDLER, stack_name="sc-plan-provider")
        return LocalCloud(spec=spec, retry_delays=(0.5, 1.0)), spec

    cloud, _spec = run_the_check("rate(1 hour)")
    with cloud:
        sc = cloud.servicecatalog
        created = cloud.stack("watched").create(resource(plan(sc, product(sc))))
        assert created.status == "CREATE_COMPLETE", created
        cloud.invoke_event(check_event)
        cloud.function.wait_for_log("Drift check done", timeout=60)
        drifted = [d for d in emf_documents(cloud) if "Drifted" in d]
        assert [(d["LogicalResourceId"], listed(d["Drifted"])) for d in drifted] == [("Bucket", [0.0])]

    cloud, _spec = run_the_check("")
    with cloud:
        sc = cloud.servicecatalog
        assert cloud.stack("watched").create(resource(plan(sc, product(sc)))).status == "CREATE_COMPLETE"
        cloud.invoke_event(check_event)
        cloud.function.wait_for_async(timeout=60)
        assert "Drift check done" not in cloud.function.log_text()
        assert "dynamodb:Scan" in cloud.function.log_text()
