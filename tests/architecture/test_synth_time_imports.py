"""The construct library is used at synth time, where the function's runtime libraries need not be
installed (the wheel depends only on aws-cdk-lib and constructs): importing it, and every module of
the function it reads rules and names from, must not need boto3, botocore, Powertools or crhelper."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHECK = """
import importlib.abc, sys

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {"boto3", "botocore", "aws_lambda_powertools", "crhelper", "aws_xray_sdk"}:
            raise ImportError(f"{name} is not installed at synth time")
        return None

sys.meta_path.insert(0, Absent())
import sc_plan_execution
from sc_plan_execution import InvalidPropertyError, PollingPolicy, ProductSpec, ProvisionedProductPlanExecution
import sc_plan_execution.bundling, sc_plan_execution.pipelines, sc_plan_execution.provider_stack
import sc_plan_execution.review, sc_plan_execution.standalone
print("ok")
"""


def test_the_construct_library_imports_without_the_functions_runtime_libraries() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
        env={"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
