"""The process environment of an execution environment: what Lambda sets, and nothing else.

Only PATH, HOME and LANG come from the parent, so nothing of the developer's or CI's environment
(real credentials, proxies, AWS_PROFILE...) reaches the handler by accident.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Mapping

from local_cloud.lambda_runtime.spec import FunctionSpec

INHERITED_VARIABLES = ("PATH", "HOME", "LANG")

# Obviously fake temporary credentials: signed requests to a local endpoint work, AWS rejects them.
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIALOCALCLOUD000000",
    "AWS_SECRET_ACCESS_KEY": "local-cloud-dummy-secret-access-key",
    "AWS_SESSION_TOKEN": "local-cloud-dummy-session-token",
}


def log_stream_name() -> str:
    """A stream name shaped like Lambda's ``YYYY/MM/DD/[$LATEST]<hex>``."""
    return time.strftime("%Y/%m/%d/", time.gmtime()) + "[$LATEST]" + secrets.token_hex(16)


def build_environment(
    spec: FunctionSpec,
    *,
    runtime_api: str,
    extra_env: Mapping[str, str] | None = None,
    stream_name: str | None = None,
) -> dict[str, str]:
    """Compose the variables for one environment.

    Precedence: inherited basics < Lambda's reserved variables < template environment < ``extra_env``
    (the caller's deliberate overrides, e.g. endpoints of the local cloud). ``AWS_LAMBDA_RUNTIME_API``
    always points at this environment's own server.
    """
    task_root = str(spec.asset_dir)
    env = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}
    env.update(
        {
            "LAMBDA_TASK_ROOT": task_root,
            "PYTHONPATH": task_root,
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": spec.execution_env,
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": stream_name or log_stream_name(),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "TZ": ":UTC",
            # Lambda's task root is read-only: no bytecode is written into the (cdk.out) asset.
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            "PYTHONUNBUFFERED": "1",
            **DUMMY_CREDENTIALS,
        }
    )
    env.update(spec.environment)
    env.update(extra_env or {})
    env["AWS_LAMBDA_RUNTIME_API"] = runtime_api
    return env
