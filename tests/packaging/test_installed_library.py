"""The library as a user outside this repository gets it: a wheel, installed into a fresh
virtualenv, used by a CDK app in a temporary folder, whose synthesized custom resource then runs on
the local cloud (Create, then Delete)."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from email.parser import Parser
from pathlib import Path

import pytest

from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import custom_resources_in_assembly
from local_cloud.dynamodb import LocalDynamoDB
from local_cloud.servicecatalog import ProvisioningScript, ServiceCatalogEmulator, ServiceRules
from sc_plan_provider import __version__
from support.scenarios import FAST_POLLING, product

REPO = Path(__file__).resolve().parents[2]
# Building a wheel, a fresh virtualenv with aws-cdk-lib and a synth take minutes on a busy 2-core
# machine: one xdist worker builds them once for every test here (`make test` runs --dist loadgroup;
# session scope, as a module fixture is built again when the worker's tests of this module are not
# contiguous).
pytestmark = [pytest.mark.timeout(900), pytest.mark.xdist_group("installed-library")]

CONSUMER_APP = """
import json
import sys

import aws_cdk as cdk
import sc_plan_execution
from sc_plan_execution import PollingPolicy, ProvisionedProductPlanExecution

app = cdk.App()
stack = cdk.Stack(app, "ConsumerStack")
bucket = ProvisionedProductPlanExecution(
    stack,
    "Bucket",
    plan_id="plan-from-the-platform-team",
    polling=PollingPolicy(interval_seconds=0.2, backoff_rate=1, max_interval_seconds=0.2),
)
cdk.CfnOutput(stack, "BucketName", value=bucket.get_output("BucketName"))
app.synth()
print(json.dumps({"construct": sc_plan_execution.__file__, "version": sc_plan_execution.__version__, "path": sys.path}))
"""


# What the wheel is built from (pyproject.toml's packages, readme and licence): a copy, so the build
# neither meets nor leaves the checkout's build/ and egg-info folders (`make package` and the
# editable install write them there).
WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "constructs", "lambda")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("wheel-source")
    for name in WHEEL_SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "--wheel-dir", str(out)]
    result = subprocess.run([*build, str(source)], capture_output=True, text=True, check=False, timeout=600)
    # pip's own output is the diagnosis when the build fails (its build environment is fetched
    # from the package index).
    assert result.returncode == 0, f"pip wheel failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="session")
def consumer(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """A fresh virtualenv and a CDK app outside the repository; returns its cdk.out and what it saw."""
    home = tmp_path_factory.mktemp("consumer")
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # The same CDK versions the repository pins, so the test does not depend on the newest release.
    # No bytecode: compiling aws-cdk-lib's thousands of modules is most of an install's time here.
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            str(wheel),
            "-c",
            str(REPO / "constraints.txt"),
        ],
        check=True,
    )
    app_dir = home / "app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(CONSUMER_APP)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV", "CDK_"))}
    env.update(CDK_OUTDIR=str(app_dir / "cdk.out"), JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    done = subprocess.run(
        [str(python), "app.py"], cwd=app_dir, env=env, check=True, capture_output=True, text=True, timeout=600
    )
    seen = {**json.loads(done.stdout.strip().splitlines()[-1]), "stderr": done.stderr}
    return app_dir / "cdk.out", seen


@pytest.fixture(scope="session")
def review_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel and its `[review]` extra, as a pipeline step installs it;
    returns its bin/ folder."""
    venv = tmp_path_factory.mktemp("review") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            f"{wheel}[review]",
            "-c",
            str(REPO / "constraints.txt"),
        ],
        check=True,
    )
    return venv / "bin"


def test_wheel_ships_both_typed_packages_with_the_function_pins(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "sc_plan_execution/__init__.py",
        "sc_plan_execution/py.typed",
        "sc_plan_execution/compile_bytecode.mjs",
        "sc_plan_provider/handler.py",
        "sc_plan_provider/py.typed",
        "sc_plan_provider/requirements.txt",
    ):
        assert required in names
    (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    metadata = Parser().parsestr(zipfile.ZipFile(wheel).read(metadata_name).decode())
    assert metadata["Version"] == __version__
    requires = metadata.get_all("Requires-Dist") or []
    base = [r for r in requires if "extra ==" not in r]
    review = [r for r in requires if 'extra == "review"' in r]
    assert {r.split(">")[0].split("<")[0].strip() for r in base} == {"aws-cdk-lib", "constructs"}
    # The review command's run-time needs are an extra, not the construct library's dependencies.
    # Powertools' Tracer needs the X-Ray SDK, which Powertools does not install.
    assert {r.split(">")[0].split("<")[0].strip() for r in review} == {"boto3", "aws-lambda-powertools", "aws-xray-sdk"}
    versions = [r.split(";")[0] for r in requires]  # without the environment marker (extra == ...)
    assert all("==" not in v and ">=" in v for v in versions), requires  # ranges, not pins
    pins = zipfile.ZipFile(wheel).read("sc_plan_provider/requirements.txt").decode()
    assert "crhelper==" in pins and "boto3==" in pins


def test_app_outside_the_repository_uses_the_installed_package(consumer: tuple[Path, dict[str, object]]) -> None:
    _, seen = consumer
    assert "site-packages" in str(seen["construct"])
    assert not any(str(entry).startswith(str(REPO)) for entry in seen["path"])  # type: ignore[union-attr]
    assert seen["version"] == __version__


def test_app_without_pyodide_ships_source_and_says_how_to_compile(consumer: tuple[Path, dict[str, object]]) -> None:
    """A user's app folder has no npm pyodide: the asset still synthesizes, as source only, and the
    synth says what that costs and how to add it."""
    cdk_out, seen = consumer
    (asset,) = [p for p in cdk_out.glob("asset.*") if p.is_dir()]
    assert (asset / "sc_plan_provider" / "handler.py").is_file()
    assert not list(asset.rglob("*.pyc"))
    assert "ships without bytecode" in str(seen["stderr"])
    assert "npm install --save-dev pyodide@314" in str(seen["stderr"])


def test_installed_construct_runs_create_then_delete_on_the_local_cloud(
    consumer: tuple[Path, dict[str, object]],
) -> None:
    cdk_out, _ = consumer
    (synthesized,) = custom_resources_in_assembly(cdk_out, RESOURCE_TYPE)
    assert synthesized.properties["PlanId"] == "plan-from-the-platform-team"
    with LocalCloud(cdk_out, retry_delays=(0.5, 1.0)) as cloud:
        assert "site-packages" not in str(cloud.spec.asset_dir)  # the staged asset, not the install
        sc = cloud.servicecatalog
        seeded = product(sc)
        plan = sc.create_plan(seeded.id, seeded.artifact_id("v1"), "consumer-pp")
        # The emulator names its own plans; everything else is what the consumer's app synthesized.
        resource = replace(synthesized, properties={**synthesized.properties, "PlanId": plan.id})
        assert {k: float(resource.properties[k]) for k in FAST_POLLING} == FAST_POLLING
        stack = cloud.stack("ConsumerStack")
        created = stack.create(resource)
        assert created.status == "CREATE_COMPLETE", created
        assert created.outcomes[0].status == "SUCCESS"
        assert [p.status for p in sc.provisioned_products()] == ["AVAILABLE"]
        deleted = stack.delete()
        assert deleted.status == "DELETE_COMPLETE", deleted
        assert deleted.outcomes[0].status == "SUCCESS"
        assert sc.provisioned_products() == []


def test_review_extra_runs_the_installed_review_command(review_venv: Path, tmp_path: Path) -> None:
    """`pip install 'servicecatalog-plan-execution[review]'` is all the review command needs: its
    script runs a review against Service Catalog (the emulator) from outside the repository."""
    queue = {"LogicalResourceId": "Orders", "ResourceType": "AWS::SQS::Queue", "Scope": [], "Details": []}
    with ServiceCatalogEmulator(rules=ServiceRules.real()) as sc:
        seeded = sc.add_product("queue", ProvisioningScript(resource_changes=[{"Action": "ADD", **queue}]))
        plan_id = sc.create_plan(seeded.id, seeded.artifact_id("v1"), "queue-pp").id
        with sc.environment():
            env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
        result = subprocess.run(
            [str(review_venv / "sc-plan-execution"), "review", plan_id, "--region", "us-east-1"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith(f"Plan {plan_id} (CREATE_SUCCESS)")
    assert any(line.split() == ["ADD", "Orders", "AWS::SQS::Queue", "-", "ok"] for line in result.stdout.splitlines())
    assert "Change gate: ALLOWED" in result.stdout

    # Its drift command runs too: every import it needs is there (an owners table that does not
    # exist is its one-line error, not a missing module).
    with LocalDynamoDB() as dynamodb:
        drift = subprocess.run(
            [str(review_venv / "sc-plan-execution"), "drift", "--owners-table", "absent", "--region", "us-east-1"],
            cwd=tmp_path,
            env={**env, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb.endpoint_url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert drift.returncode == 2 and drift.stderr.startswith("error: could not read the owners table absent"), drift


# A file name ending in .whl, as a shell command or prose writes it (a path, a glob, an extra after it).
WHEEL_FILE = re.compile(r"[^\s`'\"()\[\]]+\.whl\b")


def test_readme_installs_the_wheel_by_its_real_name(wheel: Path) -> None:
    """Every wheel file the README tells a user to install is the one `pip wheel` and `make package`
    write: {distribution}-{version}-{tags}.whl, the distribution as the wheel spells it (underscores)
    and this version (or a `*`)."""
    distribution, version, *_ = wheel.name.split("-")
    assert version == __version__
    mentioned = WHEEL_FILE.findall((REPO / "README.md").read_text(encoding="utf-8"))
    assert mentioned, "README.md names no wheel to install"
    for name in mentioned:
        named_distribution, named_version, *_ = Path(name).name.split("-")
        assert named_distribution == distribution, name
        assert named_version in (version, "*"), name
        assert fnmatch.fnmatchcase(wheel.name, Path(name).name), name


def test_make_package_writes_the_wheel_pip_writes(wheel: Path) -> None:
    """`make package` (which `make test` runs before the suites) puts this version's wheel, under the
    name pip gives it, into dist/: it is there, or `make package` is about to build it."""
    shown = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", "show-wheel: ; @echo $(PACKAGE_WHEEL)", "show-wheel"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(shown).name == wheel.name
    assert Path(shown).parent == Path("dist")
    planned = subprocess.run(
        ["make", "-n", "--no-print-directory", "package"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout
    assert (REPO / shown).exists() or "pip wheel" in planned
