"""The whole local cloud in one object: Service Catalog emulator, the synthesized provider function
under awslambdaric, Lambda's Invoke API (so the function can re-invoke itself), DynamoDB with the
stack's tables, an X-Ray daemon for its traces, and CloudFormation's driver wired to it.

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

from local_cloud.cloudformation import CloudFormationDriver, ProgressHook, Stack
from local_cloud.dynamodb import ENDPOINT_ENV_VAR as DYNAMODB_ENDPOINT_ENV_VAR
from local_cloud.dynamodb import LocalDynamoDB
from local_cloud.lambda_runtime import FunctionSpec, LambdaInvokeApi, LocalLambdaRuntime
from local_cloud.lambda_runtime.invoke_api import ENDPOINT_ENV_VAR as LAMBDA_ENDPOINT_ENV_VAR
from local_cloud.servicecatalog import ENDPOINT_ENV_VAR, ServiceCatalogEmulator
from local_cloud.tls import create_tls_material
from local_cloud.xray import DAEMON_ADDRESS_ENV_VAR, LocalXRayDaemon

PROVIDER_HANDLER = "sc_plan_provider.handler.lambda_handler"
RESOURCE_TYPE = "Custom::ServiceCatalogPlanExecution"


class LocalCloud:
    """Start with `with LocalCloud(Path("cdk.out")) as cloud:`; everything stops on exit."""

    def __init__(
        self,
        cdk_out: Path,
        *,
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
        self.spec = FunctionSpec.from_cloud_assembly(cdk_out, handler=PROVIDER_HANDLER)
        self.lambda_api = LambdaInvokeApi()
        self.dynamodb = LocalDynamoDB(region=self.spec.region)
        self.xray = LocalXRayDaemon()
        self.tables: dict[str, str] = {}  # logical id -> local table name
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
