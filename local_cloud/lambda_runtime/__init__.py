"""Local Lambda runtime: run a synthesized function asset under AWS's own ``awslambdaric``.

Typical use::

    spec = FunctionSpec.from_cloud_assembly(Path("cdk.out"), handler="pkg.handler.lambda_handler")
    with LocalLambdaRuntime(spec, timeout=5, extra_env={...}) as runtime:
        result = runtime.invoke({"hello": "world"})
"""

from local_cloud.lambda_runtime.assembly import CloudAssemblyError
from local_cloud.lambda_runtime.invoke_api import InvocationTarget, LambdaInvokeApi, ReceivedInvocation
from local_cloud.lambda_runtime.models import (
    InvocationAttempt,
    InvocationResult,
    LambdaRuntimeError,
    LogRecord,
    RuntimeClosedError,
    TooManyRequestsError,
)
from local_cloud.lambda_runtime.runtime import LocalLambdaRuntime
from local_cloud.lambda_runtime.spec import FunctionSpec

__all__ = [
    "CloudAssemblyError",
    "FunctionSpec",
    "InvocationAttempt",
    "InvocationResult",
    "InvocationTarget",
    "LambdaInvokeApi",
    "LambdaRuntimeError",
    "LocalLambdaRuntime",
    "LogRecord",
    "ReceivedInvocation",
    "RuntimeClosedError",
    "TooManyRequestsError",
]
