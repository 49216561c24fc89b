"""Find an ``AWS::Lambda::Function`` in a CDK cloud assembly and turn it into a FunctionSpec.

Only the documented, stable parts of the assembly are read: ``manifest.json`` artifacts of type
``aws:cloudformation:stack`` (and nested ``cdk:cloud-assembly`` stages), the stack template, and the
``aws:asset:path`` resource metadata CDK writes for every asset.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_cloud.lambda_runtime.spec import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_MEMORY_MB,
    DEFAULT_PYTHON_RUNTIME,
    DEFAULT_REGION,
    DEFAULT_TIMEOUT_S,
    FunctionSpec,
)

_STACK_ARTIFACT = "aws:cloudformation:stack"
_NESTED_ASSEMBLY_ARTIFACT = "cdk:cloud-assembly"
_ENVIRONMENT_RE = re.compile(r"^aws://(?P<account>\d{12})/(?P<region>[a-z0-9-]+)$")
_MAX_FUNCTION_NAME = 64


class CloudAssemblyError(ValueError):
    """The assembly does not hold exactly one matching, runnable function."""


@dataclass(frozen=True)
class _Stack:
    assembly_dir: Path
    artifact_id: str
    stack_name: str
    template: dict[str, Any]
    template_path: Path
    region: str
    account_id: str


@dataclass(frozen=True)
class _Candidate:
    stack: _Stack
    logical_id: str
    resource: dict[str, Any]

    @property
    def handler(self) -> str | None:
        value = self.resource.get("Properties", {}).get("Handler")
        return value if isinstance(value, str) else None

    def describe(self) -> str:
        return f"{self.stack.artifact_id}/{self.logical_id} (Handler={self.handler})"


def load_function_spec(
    cdk_out: Path,
    stack_name: str | None = None,
    handler: str | None = None,
    *,
    skip_unresolved: bool = False,
) -> FunctionSpec:
    """Resolve the one function matching ``stack_name``/``handler`` into a spec."""
    stacks = list(_iter_stacks(Path(cdk_out)))
    if stack_name is not None:
        stacks = [s for s in stacks if stack_name in (s.artifact_id, s.stack_name)]
        if not stacks:
            raise CloudAssemblyError(f"no stack named {stack_name!r} in {cdk_out}")
    candidate = _only_function(stacks, handler, f"stack={stack_name!r}, handler={handler!r}")
    return _to_spec(candidate, _asset_dir(candidate), skip_unresolved=skip_unresolved)


def load_function_spec_from_template(
    template_path: Path,
    code_dir: Path,
    handler: str | None = None,
    *,
    stack_name: str = "local",
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT_ID,
    skip_unresolved: bool = False,
) -> FunctionSpec:
    """The one function (matching ``handler``) of a plain JSON template, its code unpacked in ``code_dir``.

    For templates written without CDK (code on S3 through parameters): the settings come from the
    template, the code from wherever the caller unpacked the zip the template points at.
    """
    if not code_dir.is_dir():
        raise CloudAssemblyError(f"code folder {code_dir} does not exist")
    stack = _Stack(
        assembly_dir=template_path.parent,
        artifact_id=stack_name,
        stack_name=stack_name,
        template=_read_json(template_path),
        template_path=template_path.resolve(),
        region=region,
        account_id=account_id,
    )
    candidate = _only_function([stack], handler, f"template={template_path.name!r}, handler={handler!r}")
    return _to_spec(candidate, code_dir.resolve(), skip_unresolved=skip_unresolved)


def stack_names_in_assembly(cdk_out: Path) -> list[str]:
    """CloudFormation names of every stack in a cloud assembly (nested Stages included)."""
    return [stack.stack_name for stack in _iter_stacks(Path(cdk_out))]


def _only_function(stacks: list[_Stack], handler: str | None, searched: str) -> _Candidate:
    candidates = [
        _Candidate(stack, logical_id, resource)
        for stack in stacks
        for logical_id, resource in stack.template.get("Resources", {}).items()
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Lambda::Function"
    ]
    if handler is not None:
        candidates = [c for c in candidates if c.handler == handler]
    if len(candidates) != 1:
        found = ", ".join(c.describe() for c in candidates) or "none"
        raise CloudAssemblyError(f"expected exactly one AWS::Lambda::Function ({searched}); found: {found}")
    return candidates[0]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CloudAssemblyError(f"missing {path}") from exc
    if not isinstance(data, dict):
        raise CloudAssemblyError(f"{path} is not a JSON object")
    return data


def _iter_stacks(assembly_dir: Path) -> Iterator[_Stack]:
    """Yield every stack artifact, descending into nested assemblies (CDK Stages)."""
    manifest = _read_json(assembly_dir / "manifest.json")
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        kind = artifact.get("type")
        props = artifact.get("properties", {})
        if kind == _NESTED_ASSEMBLY_ARTIFACT and "directoryName" in props:
            yield from _iter_stacks(assembly_dir / props["directoryName"])
        elif kind == _STACK_ARTIFACT and "templateFile" in props:
            match = _ENVIRONMENT_RE.match(str(artifact.get("environment", "")))
            template_path = assembly_dir / props["templateFile"]
            yield _Stack(
                assembly_dir=assembly_dir,
                artifact_id=artifact_id,
                stack_name=str(props.get("stackName", artifact_id)),
                template=_read_json(template_path),
                template_path=template_path.resolve(),
                region=match["region"] if match else DEFAULT_REGION,
                account_id=match["account"] if match else DEFAULT_ACCOUNT_ID,
            )


def _asset_dir(candidate: _Candidate) -> Path:
    """Locate the asset folder: ``aws:asset:path`` metadata, else the S3 key's hash."""
    metadata = candidate.resource.get("Metadata", {})
    asset_path = metadata.get("aws:asset:path")
    if not isinstance(asset_path, str):
        s3_key = candidate.resource.get("Properties", {}).get("Code", {}).get("S3Key")
        if not isinstance(s3_key, str) or not s3_key.endswith(".zip"):
            raise CloudAssemblyError(
                f"{candidate.describe()}: no aws:asset:path metadata and no literal S3Key "
                "(inline ZipFile code is not supported)"
            )
        asset_path = f"asset.{s3_key.removesuffix('.zip')}"
    folder = candidate.stack.assembly_dir / asset_path
    if not folder.is_dir():
        raise CloudAssemblyError(f"{candidate.describe()}: asset folder {folder} does not exist")
    return folder.resolve()


def _resolve(value: Any, pseudo: dict[str, str]) -> str | None:
    """Resolve a template value to a string where that is possible without a deployment."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value and value["Ref"] in pseudo:
            return pseudo[value["Ref"]]
        join = value.get("Fn::Join")
        if isinstance(join, list) and len(join) == 2 and isinstance(join[1], list):
            parts = [_resolve(part, pseudo) for part in join[1]]
            if all(part is not None for part in parts):
                return str(join[0]).join(part for part in parts if part is not None)
    return None


def _placeholder(value: Any) -> str:
    """A value that is obviously not real if a handler ever uses it."""
    return f"<unresolved {json.dumps(value, separators=(',', ':'), sort_keys=True)}>"


def _to_spec(candidate: _Candidate, asset_dir: Path, *, skip_unresolved: bool) -> FunctionSpec:
    stack = candidate.stack
    props = candidate.resource.get("Properties", {})
    explicit_name = props.get("FunctionName")
    function_name = (
        explicit_name
        if isinstance(explicit_name, str)
        else f"{stack.stack_name}-{candidate.logical_id}"[:_MAX_FUNCTION_NAME]
    )
    pseudo = {
        "AWS::Region": stack.region,
        "AWS::AccountId": stack.account_id,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack.stack_name,
    }
    environment: dict[str, str] = {}
    unresolved: list[str] = []
    variables = props.get("Environment", {}).get("Variables", {})
    for key, raw in variables.items():
        resolved = _resolve(raw, pseudo)
        if resolved is None:
            unresolved.append(key)
            if skip_unresolved:
                continue
            resolved = _placeholder(raw)
        environment[key] = resolved
    handler = candidate.handler
    if handler is None:
        raise CloudAssemblyError(f"{candidate.describe()}: Handler is not a literal string")
    runtime = props.get("Runtime")
    tracing_mode = props.get("TracingConfig", {}).get("Mode", "PassThrough")
    invoke_config = _event_invoke_config(stack.template, candidate.logical_id)
    return FunctionSpec(
        asset_dir=asset_dir,
        handler=handler,
        timeout=float(props.get("Timeout", DEFAULT_TIMEOUT_S)),
        memory_size=int(props.get("MemorySize", DEFAULT_MEMORY_MB)),
        environment=environment,
        unresolved_environment=tuple(unresolved),
        raw_environment=dict(variables),
        template_path=stack.template_path,
        logical_id=candidate.logical_id,
        function_name=function_name,
        stack_name=stack.stack_name,
        runtime=runtime if isinstance(runtime, str) else DEFAULT_PYTHON_RUNTIME,
        region=stack.region,
        account_id=stack.account_id,
        tracing_mode=tracing_mode if isinstance(tracing_mode, str) else "PassThrough",
        dead_letter_target=props.get("DeadLetterConfig", {}).get("TargetArn"),
        maximum_retry_attempts=_optional_number(invoke_config.get("MaximumRetryAttempts"), int),
        maximum_event_age_s=_optional_number(invoke_config.get("MaximumEventAgeInSeconds"), float),
    )


def _event_invoke_config(template: dict[str, Any], function_logical_id: str) -> dict[str, Any]:
    """Properties of the ``AWS::Lambda::EventInvokeConfig`` that names the function (``Ref``), if any."""
    for resource in template.get("Resources", {}).values():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Lambda::EventInvokeConfig":
            continue
        props = resource.get("Properties", {})
        if props.get("FunctionName") == {"Ref": function_logical_id}:
            return dict(props)
    return {}


def _optional_number(value: Any, kind: type[int] | type[float]) -> Any:
    """A literal template number (numbers may be strings); None when absent or not literal."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return kind(value)
    except ValueError:
        return None
