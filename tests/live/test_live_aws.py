"""Opt-in, against a real AWS account: deploy the example app, check the product, destroy the stack.

Everything else runs on the local cloud; this is the one test that asks AWS itself. It runs only
when SC_PLAN_LIVE_PLAN_ID names a plan in CREATE_SUCCESS and AWS credentials are available, and
it needs SC_PLAN_LIVE_PORTFOLIO_ARN (the portfolio holding the plan's product, which has a launch
constraint) and a bootstrapped account. SC_PLAN_LIVE_OUTPUT_KEY names an output of the product
(default BucketName). Run it with `make live-test`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import app

REPO = Path(__file__).resolve().parents[2]
PLAN_ID = os.environ.get("SC_PLAN_LIVE_PLAN_ID", "")
PORTFOLIO_ARN = os.environ.get("SC_PLAN_LIVE_PORTFOLIO_ARN", "")
OUTPUT_KEY = os.environ.get("SC_PLAN_LIVE_OUTPUT_KEY", app.OUTPUT_KEY)
DEPLOY_TIMEOUT_S = 3900  # the custom resource's ServiceTimeout (1 h) plus CloudFormation's own work

pytestmark = pytest.mark.skipif(not PLAN_ID, reason="live AWS test: set SC_PLAN_LIVE_PLAN_ID to run it")


def _has_credentials() -> bool:
    import boto3

    return boto3.Session().get_credentials() is not None


def _cdk(*args: str) -> subprocess.CompletedProcess[str]:
    context = [
        f"--context={app.PLAN_ID_CONTEXT}={PLAN_ID}",
        f"--context={app.PORTFOLIO_ARN_CONTEXT}={PORTFOLIO_ARN}",
        f"--context={app.OUTPUT_KEY_CONTEXT}={OUTPUT_KEY}",
    ]
    return subprocess.run(
        [str(REPO / "node_modules" / ".bin" / "cdk"), *args, app.STACK_NAME, *context],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=DEPLOY_TIMEOUT_S,
        check=False,
    )


def _check(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_deploy_executes_the_plan_and_destroy_terminates_the_product(tmp_path: Path) -> None:
    if not _has_credentials():
        pytest.skip("live AWS test: no AWS credentials found")
    assert PORTFOLIO_ARN, "SC_PLAN_LIVE_PORTFOLIO_ARN is required: the provider's role must see the plan's product"
    import boto3
    from botocore.exceptions import ClientError

    servicecatalog = boto3.client("servicecatalog")
    outputs_file = tmp_path / "outputs.json"
    try:
        _check(_cdk("deploy", "--require-approval=never", f"--outputs-file={outputs_file}"))
        outputs = json.loads(outputs_file.read_text())[app.STACK_NAME]
        product_id = outputs["ProvisionedProductId"]
        assert product_id.startswith("pp-")
        assert outputs[OUTPUT_KEY]
        record = servicecatalog.describe_record(Id=outputs["RecordId"])["RecordDetail"]
        assert (record["Status"], record["ProvisionedProductId"]) == ("SUCCEEDED", product_id)
        product = servicecatalog.describe_provisioned_product(Id=product_id)["ProvisionedProductDetail"]
        assert product["Status"] == "AVAILABLE"
    finally:
        _check(_cdk("destroy", "--force"))

    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        servicecatalog.describe_provisioned_product(Id=product_id)
