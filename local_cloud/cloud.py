"""The whole local cloud in one object: Service Catalog emulator, the synthesized provider function
under awslambdaric, and CloudFormation's driver wired to it.

Tests, the demo and the benchmark all start it the same way, so what they prove is the same
thing: CloudFormation's requests reaching the synthesized asset, which talks to Service Catalog
over the real wire protocol and answers on an HTTPS ResponseURL.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from local_cloud.cloudformation import CloudFormationDriver, ProgressHook, Stack
from local_cloud.lambda_runtime import FunctionSpec, LocalLambdaRuntime
from local_cloud.servicecatalog import ENDPOINT_ENV_VAR, ServiceCatalogEmulator
from local_cloud.tls import create_tls_material

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
    ) -> None:
        self._workdir = tempfile.TemporaryDirectory(prefix="local-cloud-")
        self.tls = create_tls_material(Path(self._workdir.name))
        self.servicecatalog = ServiceCatalogEmulator()
        self.servicecatalog.time_scale = time_scale
        self.spec = FunctionSpec.from_cloud_assembly(cdk_out, handler=PROVIDER_HANDLER)
        self._function_timeout = function_timeout
        self._function_env = dict(function_env or {})
        self._retry_delays = retry_delays
        self._progress = progress
        self._echo_logs = echo_logs
        self.function: LocalLambdaRuntime
        self.cloudformation: CloudFormationDriver

    def __enter__(self) -> LocalCloud:
        self.servicecatalog.start()
        self.function = LocalLambdaRuntime(
            self.spec,
            timeout=self._function_timeout,
            extra_env={
                ENDPOINT_ENV_VAR: self.servicecatalog.endpoint_url,
                "SSL_CERT_FILE": str(self.tls.ca_file),
                **self._function_env,
            },
            retry_delays=self._retry_delays,
            echo_logs=self._echo_logs,
        )
        self.cloudformation = CloudFormationDriver(
            self._invoke_async,
            tls=self.tls,
            service_token=self.spec.function_arn,
            progress=self._progress,
        )
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for stop in (self.cloudformation.close, self.function.close, self.servicecatalog.stop, self._workdir.cleanup):
            try:
                stop()
            except Exception:  # noqa: S112 - keep stopping the rest
                continue

    def _invoke_async(self, event: dict[str, Any]) -> None:
        """CloudFormation invokes the provider with InvocationType Event."""
        self.function.invoke_async(event)

    def stack(self, name: str, **options: Any) -> Stack:
        return Stack(self.cloudformation, name, **options)
