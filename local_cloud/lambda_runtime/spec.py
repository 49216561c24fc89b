"""What the local runtime needs to know about one function, independent of where it came from.

A spec is either read from a synthesized cloud assembly (so tests run the very asset CDK would
upload), from a plain template plus the unpacked code it references, or built directly around a
small fixture folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_PYTHON_RUNTIME = "python3.14"
DEFAULT_TIMEOUT_S = 3.0
DEFAULT_MEMORY_MB = 128


@dataclass(frozen=True)
class FunctionSpec:
    """An ``AWS::Lambda::Function`` reduced to what running it locally needs."""

    asset_dir: Path
    handler: str
    timeout: float = DEFAULT_TIMEOUT_S
    memory_size: int = DEFAULT_MEMORY_MB
    environment: dict[str, str] = field(default_factory=dict)
    # Keys of ``environment`` whose template value was an unresolvable intrinsic (Ref, GetAtt...).
    unresolved_environment: tuple[str, ...] = ()
    # The template's variables as written (intrinsics included), so a local cloud can resolve a Ref
    # to a resource it created itself, e.g. a DynamoDB table name.
    raw_environment: dict[str, Any] = field(default_factory=dict)
    # The stack template the function came from (None when the spec was built directly).
    template_path: Path | None = None
    logical_id: str = "Function"
    function_name: str = "local-function"
    stack_name: str | None = None
    runtime: str = DEFAULT_PYTHON_RUNTIME
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    # TracingConfig.Mode: "Active" samples every invocation, "PassThrough" (Lambda's default) only
    # what an upstream caller sampled, and CloudFormation never sends a trace header.
    tracing_mode: str = "PassThrough"
    # DeadLetterConfig.TargetArn as written (an intrinsic such as {"Fn::GetAtt": [queue, "Arn"]}).
    dead_letter_target: Any = None
    # The function's AWS::Lambda::EventInvokeConfig (None: Lambda's defaults, 2 retries and 6 hours).
    maximum_retry_attempts: int | None = None
    maximum_event_age_s: float | None = None

    @property
    def traced(self) -> bool:
        """Whether Lambda would sample this function's invocations (and so the SDK ship segments)."""
        return self.tracing_mode == "Active"

    @property
    def function_arn(self) -> str:
        """A fake but well-formed ARN, as the handler sees it in ``context.invoked_function_arn``."""
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def execution_env(self) -> str:
        """``AWS_EXECUTION_ENV`` value; awslambdaric keys JSON encoding and thread polling off it."""
        runtime = self.runtime if self.runtime.startswith("python") else DEFAULT_PYTHON_RUNTIME
        return f"AWS_Lambda_{runtime}"

    @property
    def log_group_name(self) -> str:
        """The log group Lambda would write to."""
        return f"/aws/lambda/{self.function_name}"

    @classmethod
    def from_cloud_assembly(
        cls,
        cdk_out: Path,
        stack_name: str | None = None,
        handler: str | None = None,
        *,
        skip_unresolved: bool = False,
    ) -> FunctionSpec:
        """Read the function from ``cdk.out`` (manifest + template + asset folder).

        ``stack_name`` (artifact id or CloudFormation stack name) and ``handler`` narrow the search
        when the assembly holds several stacks or functions; exactly one function must remain.
        """
        from local_cloud.lambda_runtime.assembly import load_function_spec

        return load_function_spec(cdk_out, stack_name, handler, skip_unresolved=skip_unresolved)

    @classmethod
    def from_template(
        cls,
        template_path: Path,
        code_dir: Path,
        handler: str | None = None,
        *,
        stack_name: str = "local",
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        skip_unresolved: bool = False,
    ) -> FunctionSpec:
        """Read the function's settings from a plain JSON template whose code (an S3 zip, say) the
        caller unpacked into ``code_dir``; ``handler`` narrows the search as above."""
        from local_cloud.lambda_runtime.assembly import load_function_spec_from_template

        return load_function_spec_from_template(
            template_path,
            code_dir,
            handler,
            stack_name=stack_name,
            region=region,
            account_id=account_id,
            skip_unresolved=skip_unresolved,
        )
