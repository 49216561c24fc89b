"""The CDK Pipelines example (examples/pipeline/, its own CDK app) synthesizes with cdk-nag
AwsSolutions, cfn-lint and checkov clean: a review step running the review command, a manual
approval after it, then the stage deploying the construct's stack. Its folder synthesizes with the
CDK CLI as the pipeline's Synth step does: its cdk.json runs it, its requirements install the library."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = REPO / "examples" / "pipeline"
EXAMPLE_APP = EXAMPLE_DIR / "pipeline_app.py"
CDK_CLI = REPO / "node_modules" / ".bin" / "cdk"
CFN_LINT_IGNORED = "W3005"  # redundant DependsOn that CDK itself emits (as `make scan`)
# One synth (the CDK CLI, ~25 s) for every test here: they run on one xdist worker (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("pipeline-example")


def _load_example() -> ModuleType:
    """The example's module from its file (its folder is no package; the root has an `app` module)."""
    spec = importlib.util.spec_from_file_location("pipeline_app", EXAMPLE_APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pipeline_app() -> ModuleType:
    return _load_example()


def _templates(outdir: Path) -> list[Path]:
    """The pipeline stack's template and the Deploy stage's (its nested assembly)."""
    return sorted([*outdir.glob("*.template.json"), *outdir.glob("assembly-*/*.template.json")])


def _cfn_lint(templates: Iterable[Path]) -> subprocess.CompletedProcess[str]:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    return subprocess.run(
        [str(cfn_lint), "--ignore-checks", CFN_LINT_IGNORED, "--", *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_synth_is_cdk_nag_clean(synthesized: Path) -> None:
    outdir = synthesized
    report = json.loads((outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []


def test_every_template_passes_checkov(synthesized: Path) -> None:
    """The pipeline stack and the stage's stack: CDK Pipelines' findings carry their skips, the
    construct's stack only the provider's documented ones."""
    from support.checkov import run_checkov

    templates = sorted(synthesized.rglob("*.template.json"))
    assert len(templates) == 2
    report = run_checkov(templates)
    assert report.failed == []
    assert report.passed > 100


def test_review_then_approval_then_the_deploy_stage(synthesized: Path) -> None:
    template = json.loads((synthesized / "ServiceCatalogPlanPipeline.template.json").read_text())
    (pipeline,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    (deploy,) = [s for s in pipeline["Properties"]["Stages"] if s["Name"] == "Deploy"]
    order = {a["Name"]: a["RunOrder"] for a in deploy["Actions"]}
    kinds = {a["Name"]: a["ActionTypeId"]["Provider"] for a in deploy["Actions"]}
    assert kinds["ReviewPlan"] == "CodeBuild" and kinds["ApprovePlan"] == "Manual"
    stack_actions = [name for name, provider in kinds.items() if provider == "CloudFormation"]
    assert stack_actions
    assert order["ReviewPlan"] < order["ApprovePlan"] < min(order[name] for name in stack_actions)

    projects = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodeBuild::Project"]
    review_specs = [
        p["Properties"]["Source"]["BuildSpec"] for p in projects if "review" in p["Properties"]["Source"]["BuildSpec"]
    ]
    (spec,) = review_specs
    assert "python -m sc_plan_execution review plan-reviewed123" in spec
    assert "pip install '.[review]'" in spec


def test_the_deployed_stack_applies_the_reviewed_plan(synthesized: Path) -> None:
    templates = [json.loads(path.read_text()) for path in synthesized.glob("assembly-*/*.template.json")]
    resources = [
        r for t in templates for r in t["Resources"].values() if r["Type"] == "Custom::ServiceCatalogPlanExecution"
    ]
    (execution,) = resources
    assert execution["Properties"]["PlanId"] == "plan-reviewed123"  # the -c context reached the app
    assert "AllowReplacement" not in execution["Properties"]  # the gate's defaults, as reviewed


def test_every_template_passes_cfn_lint(synthesized: Path) -> None:
    """`make scan`'s cfn-lint on the pipeline stack and the stage's stack: no finding, E3703 included
    (CDK Pipelines' Fn::Join role ARN in each deploy action's Configuration; pipeline_app.py)."""
    templates = _templates(synthesized)
    assert len(templates) == 2
    result = _cfn_lint(templates)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_synth_step_builds_the_example_folder_of_the_checkout(pipeline_app: ModuleType, synthesized: Path) -> None:
    """The Synth step starts at the checkout's root: the root's npm ci (the pinned CLI), then this
    folder's requirements and cdk.json; the pipeline reads the cloud assembly from its cdk.out."""
    assert REPO / pipeline_app.EXAMPLE_PATH == EXAMPLE_DIR
    template = json.loads((synthesized / "ServiceCatalogPlanPipeline.template.json").read_text())
    specs = [
        json.loads(r["Properties"]["Source"]["BuildSpec"])
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project" and "npx cdk synth" in r["Properties"]["Source"]["BuildSpec"]
    ]
    (spec,) = specs
    assert spec["phases"]["build"]["commands"] == [
        "npm ci",
        "cd examples/pipeline && pip install -r requirements.txt && npx cdk synth",
    ]
    assert spec["artifacts"]["base-directory"] == "examples/pipeline/cdk.out"


def test_cdk_json_runs_the_example_with_the_root_feature_flags() -> None:
    config = json.loads((EXAMPLE_DIR / "cdk.json").read_text())
    root = json.loads((REPO / "cdk.json").read_text())
    interpreter, script = config["app"].split()
    assert interpreter == "python3" and (EXAMPLE_DIR / script).resolve() == EXAMPLE_APP
    flags = {k: v for k, v in root["context"].items() if k.startswith("@aws-cdk")}
    assert {k: v for k, v in config["context"].items() if k.startswith("@aws-cdk")} == flags
    assert config["versionReporting"] == root["versionReporting"]
    assert config["context"]["cli-telemetry"] is False


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_requirements_install_the_library_from_the_checkout_and_what_the_example_imports() -> None:
    """pip resolves the file's paths from the current directory: the Synth step runs it from the
    example's folder, so its paths are relative to that folder."""
    lines = [line.split("#")[0].strip() for line in (EXAMPLE_DIR / "requirements.txt").read_text().splitlines()]
    options = [line.split(maxsplit=1) for line in lines if line.startswith("-")]
    names = {_canonical(line) for line in lines if line and not line.startswith("-")}
    assert [(flag, (EXAMPLE_DIR / path).resolve()) for flag, path in options] == [
        ("-c", REPO / "constraints.txt"),
        ("-e", REPO),
    ]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    library_dependencies = {_canonical(re.split(r"[<>=!~\[; ]", d)[0]) for d in project["dependencies"]}
    installed = {_canonical(project["name"]), *library_dependencies, *names}

    pinned = {
        _canonical(line.split("==")[0]): line.split("==")[1]
        for line in (REPO / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert names <= pinned.keys(), "every requirement has the repository's known-good version"

    # Every distribution the example imports from (its top-level imports) is installed by the file.
    distributions = importlib.metadata.packages_distributions()
    imported = {
        match.group(1)
        for match in re.finditer(r"^(?:from|import) (\w+)", EXAMPLE_APP.read_text(), re.MULTILINE)
        if match.group(1) not in sys.stdlib_module_names and match.group(1) != "__future__"
    }
    assert imported == {"aws_cdk", "cdk_nag", "constructs", "sc_plan_execution"}
    # aws_cdk is a namespace several distributions share: one of each module's is enough.
    uncovered = {m: distributions[m] for m in imported if not {_canonical(d) for d in distributions[m]} & installed}
    assert uncovered == {}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`npx cdk synth` from the example's folder, as the pipeline's Synth step runs it (its cdk.json's
    app command, with this environment's python3 and the pinned CLI): what every test here reads."""
    if not CDK_CLI.exists():
        pytest.skip("the pinned CDK CLI is installed by `make setup` (npm ci)")
    outdir = tmp_path_factory.mktemp("pipeline.cli.out")
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), str(CDK_CLI.parent), os.environ.get("PATH", "")]),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    env.pop("CDK_OUTDIR", None)
    result = subprocess.run(
        [
            str(CDK_CLI),
            "synth",
            "--quiet",
            "--no-notices",
            "--output",
            str(outdir),
            "--context",
            "planId=plan-reviewed123",
        ],
        cwd=EXAMPLE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return outdir


def test_cdk_synth_in_the_example_folder_synthesizes_the_pipeline(synthesized: Path) -> None:
    manifest = json.loads((synthesized / "manifest.json").read_text())
    stacks = {name for name, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}
    assert stacks == {"ServiceCatalogPlanPipeline"}
