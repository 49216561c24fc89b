"""The whole local cloud in one object: Service Catalog emulator, the synthesized provider function
under awslambdaric, Lambda's Invoke API (so the function can re-invoke itself), DynamoDB with the
stack's tables, SQS with its queues (the function's dead-letter queue), an X-Ray daemon for its
traces, and CloudFormation's driver wired to it.

Tests, the demo and the benchmark all start it the same way, so what they prove is the same
thing: CloudFormation's requests reaching the synthesized asset, which talks to Service Catalog
over the real wire protocol and answers on an HTTPS ResponseURL.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from local_cloud.cloudformation import CloudFormationDriver, ProgressHook, Stack, UnresolvableError, resolve_intrinsics
from local_cloud.dynamodb import ENDPOINT_ENV_VAR as DYNAMODB_ENDPOINT_ENV_VAR
from local_cloud.dynamodb import LocalDynamoDB
from local_cloud.lambda_runtime import FunctionSpec, LambdaInvokeApi, LocalLambdaRuntime
from local_cloud.lambda_runtime.assembly import stack_names_in_assembly
from local_cloud.lambda_runtime.invoke_api import ENDPOINT_ENV_VAR as LAMBDA_ENDPOINT_ENV_VAR
from local_cloud.lambda_runtime.runtime import DEFAULT_MAX_RETRY_ATTEMPTS
from local_cloud.servicecatalog import ENDPOINT_ENV_VAR, ServiceCatalogEmulator
from local_cloud.sqs import LocalQueue, LocalSQS
from local_cloud.tls import create_tls_material
from local_cloud.xray import DAEMON_ADDRESS_ENV_VAR, LocalXRayDaemon

PROVIDER_HANDLER = "sc_plan_provider.handler.lambda_handler"
RESOURCE_TYPE = "Custom::ServiceCatalogPlanExecution"
# The example app's stack that uses the construct: chosen when an assembly holds several provider
# functions (the app also has the shared provider stack) and no stack is named.
DEFAULT_STACK_NAME = "ServiceCatalogPlanDemo"


def provider_spec(cdk_out: Path, stack_name: str | None = None) -> FunctionSpec:
    """The provider function of ``stack_name``; without one, of the only stack that has it, or else
    of ``DEFAULT_STACK_NAME``."""
    if stack_name is None and DEFAULT_STACK_NAME in stack_names_in_assembly(cdk_out):
        stack_name = DEFAULT_STACK_NAME
    return FunctionSpec.from_cloud_assembly(cdk_out, stack_name, handler=PROVIDER_HANDLER)


class LocalCloud:
    """Start with `with LocalCloud(Path("cdk.out")) as cloud:`; everything stops on exit.

    The function comes from `cdk_out` (the provider of `stack_name`, see `provider_spec`) or, for
    a template deployed without CDK, from a ready `spec` (`FunctionSpec.from_template`).
    """

    def __init__(
        self,
        cdk_out: Path | None = None,
        *,
        stack_name: str | None = None,
        spec: FunctionSpec | None = None,
        function_timeout: float | None = None,
        function_env: Mapping[str, str] | None = None,
        retry_delays: tuple[float, ...] = (1.0, 2.0),
        time_scale: float = 1.0,
        progress: ProgressHook | None = None,
        echo_logs: bool = False,
        init_timeout: float = 30.0,
    ) -> None:
        """`init_timeout` is Lambda's INIT limit (10 s there); looser by default because a 2-core
        machine running parallel suites can take longer than that to import the asset."""
        self._workdir = tempfile.TemporaryDirectory(prefix="local-cloud-")
        self.tls = create_tls_material(Path(self._workdir.name))
        self.servicecatalog = ServiceCatalogEmulator()
        self.servicecatalog.time_scale = time_scale
        if spec is None:
            if cdk_out is None:
                raise ValueError("LocalCloud needs a cloud assembly (cdk_out) or a function spec")
            spec = provider_spec(cdk_out, stack_name)
        elif cdk_out is not None or stack_name is not None:
            raise ValueError("give either cdk_out (and stack_name) or spec, not both")
        self.spec = spec
        self.lambda_api = LambdaInvokeApi()
        self.dynamodb = LocalDynamoDB(region=self.spec.region)
        self.xray = LocalXRayDaemon()
        self.tables: dict[str, str] = {}  # logical id -> local table name
        self.sqs = LocalSQS(region=self.spec.region)
        self.queues: dict[str, LocalQueue] = {}  # logical id -> local queue
        self._function_timeout = function_timeout
        self._function_env = dict(function_env or {})
        self._retry_delays = retry_delays
        self._progress = progress
        self._echo_logs = echo_logs
        self._init_timeout = init_timeout
        self.function: LocalLambdaRuntime
        self.cloudformation: CloudFormationDriver

    def __enter__(self) -> LocalCloud:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        self.servicecatalog.start()
        self.lambda_api.start()
        self.dynamodb.start()
        self.xray.start()
        self.tables = self.dynamodb.create_tables_from_template(self._template(), self.spec.stack_name or "local")
        self.sqs.start()
        self.queues = self.sqs.create_queues_from_template(self._template(), self.spec.stack_name or "local")
        self.function = LocalLambdaRuntime(
            self.spec,
            timeout=self._function_timeout,
            extra_env={
                ENDPOINT_ENV_VAR: self.servicecatalog.endpoint_url,
                LAMBDA_ENDPOINT_ENV_VAR: self.lambda_api.endpoint_url,
                DYNAMODB_ENDPOINT_ENV_VAR: self.dynamodb.endpoint_url,
                DAEMON_ADDRESS_ENV_VAR: self.xray.address,
                "SSL_CERT_FILE": str(self.tls.ca_file),
                **self._table_references(),
                **self._function_env,
            },
            retry_delays=self._retry_delays,
            echo_logs=self._echo_logs,
            init_timeout=self._init_timeout,
            # The template's asynchronous invocation settings: retries, event age, dead-letter queue.
            max_retry_attempts=(
                DEFAULT_MAX_RETRY_ATTEMPTS
                if self.spec.maximum_retry_attempts is None
                else self.spec.maximum_retry_attempts
            ),
            max_event_age=self.spec.maximum_event_age_s,
            dead_letter=self.sqs.dead_letter_sender(self.spec.dead_letter_target),
        )
        self.lambda_api.register(self.function)
        self.cloudformation = CloudFormationDriver(
            self._invoke_async,
            tls=self.tls,
            service_token=self.spec.function_arn,
            progress=self._progress,
        )

    def _template(self) -> dict[str, Any]:
        """The function's stack template: the tables it declares are created locally."""
        if self.spec.template_path is None:
            return {}
        template: dict[str, Any] = json.loads(self.spec.template_path.read_text(encoding="utf-8"))
        return template

    @property
    def exports(self) -> dict[str, str]:
        """The function stack's exports (``Outputs.*.Export``) that resolve locally: export name ->
        value, e.g. the shared provider's ServiceToken under its export name. Parameters take their
        defaults; the function's ``Ref`` and ``Arn`` are the local function's."""
        template = self._template()
        refs = {
            name: str(parameter["Default"])
            for name, parameter in template.get("Parameters", {}).items()
            if isinstance(parameter, dict) and "Default" in parameter
        }
        refs.update(
            {
                "AWS::Region": self.spec.region,
                "AWS::AccountId": self.spec.account_id,
                "AWS::Partition": "aws",
                "AWS::StackName": self.spec.stack_name or "local",
                self.spec.logical_id: self.spec.function_name,
                **self.tables,
            }
        )
        attributes = {f"{self.spec.logical_id}.Arn": self.spec.function_arn}
        exports: dict[str, str] = {}
        for output in template.get("Outputs", {}).values():
            if not isinstance(output, dict) or "Export" not in output:
                continue
            try:
                name = resolve_intrinsics(output["Export"].get("Name"), refs=refs)
                value = resolve_intrinsics(output.get("Value"), refs=refs, attributes=attributes)
            except UnresolvableError:
                continue
            exports[str(name)] = str(value)
        return exports

    def _table_references(self) -> dict[str, str]:
        """Environment variables written as ``{"Ref": "<table>"}``, resolved to the local table names."""
        resolved: dict[str, str] = {}
        for key, raw in self.spec.raw_environment.items():
            if isinstance(raw, dict) and set(raw) == {"Ref"} and raw["Ref"] in self.tables:
                resolved[key] = self.tables[raw["Ref"]]
        return resolved

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop everything that was started, callers first; safe after a failed ``__enter__``."""
        stops = [
            getattr(self, "cloudformation", None) and self.cloudformation.close,
            self.lambda_api.stop,
            getattr(self, "function", None) and self.function.close,
            self.dynamodb.stop,
            self.sqs.stop,
            self.xray.stop,
            self.servicecatalog.stop,
            self._workdir.cleanup,
        ]
        for stop in stops:
            if not stop:
                continue
            try:
                stop()
            except Exception:  # noqa: S112 - keep stopping the rest
                continue

    def _invoke_async(self, event: dict[str, Any]) -> None:
        """CloudFormation invokes the provider with InvocationType Event."""
        self.function.invoke_async(event)

    def stack(self, name: str, **options: Any) -> Stack:
        return Stack(self.cloudformation, name, **options)
