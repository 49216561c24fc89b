"""The whole local cloud in one object: Service Catalog emulator, the synthesized provider function
under awslambdaric, Lambda's Invoke API (so the function can re-invoke itself), DynamoDB with the
stack's tables, SQS with its queues (the function's dead-letter queue), an X-Ray daemon for its
traces, and CloudFormation's driver wired to it.

Tests, the demo and the benchmark all start it the same way, so what they prove is the same
thing: CloudFormation's requests reaching the synthesized asset, which talks to Service Catalog
over the real wire protocol and answers on an HTTPS ResponseURL.

Every service asks one ``RequestGate`` about each request: the function signs with credentials of
its execution role, which the gate authorizes against the role's policies as the template grants
them (``iam=True``); ``faults`` plans the errors real services produce; ``calls()`` lists what the
function called, in order.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from local_cloud.cloudformation import (
    CloudFormationApiServer,
    CloudFormationDriver,
    ProgressHook,
    Stack,
    StackState,
    StackStates,
    UnresolvableError,
)
from local_cloud.cloudformation.api_server import ENDPOINT_ENV_VAR as CLOUDFORMATION_ENDPOINT_ENV_VAR
from local_cloud.cloudformation.references import StackReferences, stack_references
from local_cloud.dynamodb import ENDPOINT_ENV_VAR as DYNAMODB_ENDPOINT_ENV_VAR
from local_cloud.dynamodb import LocalDynamoDB
from local_cloud.gate import CallRecord, FaultPlan, Principal, RequestGate, role_credentials
from local_cloud.iam.role import read_execution_role, role_logical_id
from local_cloud.lambda_runtime import FunctionSpec, LambdaInvokeApi, LocalLambdaRuntime
from local_cloud.lambda_runtime.assembly import stack_names_in_assembly
from local_cloud.lambda_runtime.invoke_api import ENDPOINT_ENV_VAR as LAMBDA_ENDPOINT_ENV_VAR
from local_cloud.lambda_runtime.retry_scale.sitecustomize import SCALE_ENV_VAR as RETRY_SCALE_ENV_VAR
from local_cloud.lambda_runtime.runtime import DEFAULT_MAX_RETRY_ATTEMPTS
from local_cloud.servicecatalog import ENDPOINT_ENV_VAR, ServiceCatalogEmulator, ServiceRules
from local_cloud.sqs import LocalQueue, LocalSQS
from local_cloud.tls import create_tls_material
from local_cloud.xray import DAEMON_ADDRESS_ENV_VAR, LocalXRayDaemon

PROVIDER_HANDLER = "sc_plan_provider.handler.lambda_handler"
RESOURCE_TYPE = "Custom::ServiceCatalogPlanExecution"
# The example app's stack that uses the construct: chosen when an assembly holds several provider
# functions (the app also has the shared provider stack) and no stack is named.
DEFAULT_STACK_NAME = "ServiceCatalogPlanDemo"
# A `sitecustomize` that scales botocore's retry delays in the function (retry_delay_scale).
RETRY_SCALE_DIR = Path(__file__).parent / "lambda_runtime" / "retry_scale"
# Where the functions' bytecode is cached (PYTHONPYCACHEPREFIX mirrors each asset's own path).
BYTECODE_CACHE_DIR = Path(tempfile.gettempdir()) / "local-cloud-bytecode"


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

    `sc_rules` is the Service Catalog emulator's rules profile; without one, the profile file named
    by `LOCAL_CLOUD_SC_PROFILE` if set, else `ServiceRules.real()`: the e2e suites, the demo and the
    bench run under the real service's rules.
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
        sc_rules: ServiceRules | None = None,
        iam: bool = True,
        service_token_qualifier: str | None = None,
        retry_delay_scale: float = 1.0,
        bytecode_cache: bool = True,
    ) -> None:
        """`init_timeout` is Lambda's INIT limit (10 s there); looser by default because a 2-core
        machine running parallel suites can take longer than that to import the asset.

        `sc_rules` is the Service Catalog profile (servicecatalog/rules.py; default: the file named by
        LOCAL_CLOUD_SC_PROFILE, else real). `iam` enforces the execution role's policies on the
        function's calls (it fails at start when the role cannot be read exactly from the template).
        `service_token_qualifier` makes CloudFormation invoke an alias of that name (created at start,
        pointing at ``$LATEST``). `retry_delay_scale` multiplies the sleeps between the function's
        botocore retries (lambda_runtime/retry_scale: the same attempts, shorter waits), so that a fault
        outlasting every attempt reaches the handler in seconds; 1 leaves the function untouched.
        `bytecode_cache` keeps the asset's compiled bytecode outside it (`BYTECODE_CACHE_DIR`), so an
        environment's cold start reads what an earlier one compiled. Lambda compiles the bundled
        libraries at every cold start (the asset ships no bytecode): `make bench` measures that;
        the local cloud, which starts hundreds of environments per test run, need not.
        """
        if retry_delay_scale <= 0:
            raise ValueError("retry_delay_scale must be > 0")
        if spec is None:
            if cdk_out is None:
                raise ValueError("LocalCloud needs a cloud assembly (cdk_out) or a function spec")
            spec = provider_spec(cdk_out, stack_name)
        elif cdk_out is not None or stack_name is not None:
            raise ValueError("give either cdk_out (and stack_name) or spec, not both")
        self.spec = spec
        self._workdir = tempfile.TemporaryDirectory(prefix="local-cloud-")
        self.tls = create_tls_material(Path(self._workdir.name))
        self.gate = RequestGate(account_id=spec.account_id, region=spec.region)
        self.servicecatalog = ServiceCatalogEmulator(
            gate=self.gate, rules=sc_rules or ServiceRules.from_environment(ServiceRules.real())
        )
        self.servicecatalog.time_scale = time_scale
        self.lambda_api = LambdaInvokeApi(gate=self.gate, region=spec.region, account_id=spec.account_id)
        self.dynamodb = LocalDynamoDB(region=spec.region, account_id=spec.account_id, gate=self.gate)
        self.xray = LocalXRayDaemon()
        # What CloudFormation shows of the stacks the driver plays; served as its read API.
        self.stack_states = StackStates(other_stacks=self._product_stack)
        self.cloudformation_api = CloudFormationApiServer(
            self.stack_states, region=spec.region, account_id=spec.account_id, gate=self.gate
        )
        self.tables: dict[str, str] = {}  # logical id -> local table name
        self.sqs = LocalSQS(region=spec.region)
        self.queues: dict[str, LocalQueue] = {}  # logical id -> local queue
        self.references = StackReferences()
        self.iam = iam
        self._service_token_qualifier = service_token_qualifier
        self._function_timeout = function_timeout
        self._function_env = dict(function_env or {})
        self._retry_delays = retry_delays
        self._progress = progress
        self._echo_logs = echo_logs
        self._init_timeout = init_timeout
        self._retry_delay_scale = retry_delay_scale
        self._bytecode_cache = bytecode_cache
        self.principal: Principal
        self.function: LocalLambdaRuntime
        self.cloudformation: CloudFormationDriver

    def _product_stack(self, name_or_id: str) -> StackState | None:
        """The CloudFormation stack behind an emulated provisioned product (its parameters)."""
        stack = self.servicecatalog.state.product_stack(name_or_id)
        if stack is None:
            return None
        created = dt.datetime.fromtimestamp(stack.created_time, dt.UTC)
        return StackState(stack.arn, stack.name, stack.status, created, parameters=list(stack.parameters))

    @property
    def faults(self) -> FaultPlan:
        """Faults planned for the function's calls: ``cloud.faults.add(Fault.throttle(), service=..., ...)``."""
        return self.gate.faults

    def calls(self) -> list[CallRecord]:
        """Every call the function made so far (Service Catalog, DynamoDB, Lambda, ResponseURL), in order."""
        return self.gate.calls()

    def __enter__(self) -> LocalCloud:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        template = self._template()
        self.servicecatalog.start()
        self.cloudformation_api.start()
        self.lambda_api.start()
        self.dynamodb.start()
        self.xray.start()
        self.tables = self.dynamodb.create_tables_from_template(template, self.spec.stack_name or "local")
        self.sqs.start()
        self.queues = self.sqs.create_queues_from_template(template, self.spec.stack_name or "local")
        self.references = self._stack_references(template)
        self.principal = self._principal(template)  # a role it cannot read exactly fails the start
        self.gate.add_principal(self.principal)
        self.function = LocalLambdaRuntime(
            self.spec,
            timeout=self._function_timeout,
            extra_env={
                ENDPOINT_ENV_VAR: self.servicecatalog.endpoint_url,
                CLOUDFORMATION_ENDPOINT_ENV_VAR: self.cloudformation_api.endpoint_url,
                LAMBDA_ENDPOINT_ENV_VAR: self.lambda_api.endpoint_url,
                DYNAMODB_ENDPOINT_ENV_VAR: self.dynamodb.endpoint_url,
                DAEMON_ADDRESS_ENV_VAR: self.xray.address,
                "SSL_CERT_FILE": str(self.tls.ca_file),
                **self.principal.credentials,
                **self._table_references(),
                **self._retry_scaling(),
                **self._bytecode(),
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
        self.gate.kill_caller = self.function.kill_caller
        self.lambda_api.register(self.function)
        service_token = self.spec.function_arn
        if self._service_token_qualifier is not None:
            service_token = self.lambda_api.add_alias(self.spec.function_name, self._service_token_qualifier)
        self.cloudformation = CloudFormationDriver(
            self._invoke_async,
            tls=self.tls,
            service_token=service_token,
            progress=self._progress,
            gate=self.gate,
            states=self.stack_states,
        )

    def _principal(self, template: Mapping[str, Any]) -> Principal:
        """The function as a caller: credentials of its role and, with ``iam``, the role's policies."""
        spec = self.spec
        role_id = role_logical_id(template, spec.logical_id)
        credentials = role_credentials(f"{spec.account_id}/{spec.stack_name}/{role_id or spec.logical_id}")
        if not self.iam:
            return Principal(spec.function_name, spec.function_arn, credentials)
        if spec.template_path is None:
            raise ValueError("iam=True needs the function's template (spec.template_path) to read its role")
        role = read_execution_role(template, spec.logical_id, self.references, account_id=spec.account_id)
        return Principal(
            name=spec.function_name,
            arn=role.session_arn(spec.function_name),
            credentials=credentials,
            policies=role.policies,
            condition_keys={
                "aws:PrincipalArn": role.arn,
                "aws:PrincipalAccount": spec.account_id,
                "lambda:SourceFunctionArn": spec.function_arn,
            },
        )

    def _template(self) -> dict[str, Any]:
        """The function's stack template: the tables it declares are created locally."""
        if self.spec.template_path is None:
            return {}
        template: dict[str, Any] = json.loads(self.spec.template_path.read_text(encoding="utf-8"))
        return template

    def _stack_references(self, template: Mapping[str, Any]) -> StackReferences:
        """Refs and attributes of the function's stack: the local tables and function, generated names else."""
        return stack_references(
            template,
            stack_name=self.spec.stack_name or "local",
            region=self.spec.region,
            account_id=self.spec.account_id,
            physical_names={
                **self.tables,
                **{logical_id: queue.name for logical_id, queue in self.queues.items()},
                self.spec.logical_id: self.spec.function_name,
            },
        )

    @property
    def exports(self) -> dict[str, str]:
        """The function stack's exports (``Outputs.*.Export``) that resolve locally: export name ->
        value, e.g. the shared provider's ServiceToken under its export name. Parameters take their
        defaults; the function's ``Ref`` and ``Arn`` are the local function's."""
        exports: dict[str, str] = {}
        for output in self._template().get("Outputs", {}).values():
            if not isinstance(output, dict) or "Export" not in output:
                continue
            try:
                name = self.references.resolve(output["Export"].get("Name"))
                value = self.references.resolve(output.get("Value"))
            except UnresolvableError:
                continue
            exports[str(name)] = str(value)
        return exports

    def _bytecode(self) -> dict[str, str]:
        """Bytecode written to and read from the shared cache, never into the (read-only) task root."""
        if not self._bytecode_cache:
            return {}
        return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(BYTECODE_CACHE_DIR)}

    def _retry_scaling(self) -> dict[str, str]:
        """The variables that make the function's botocore sleep less between retries (if asked)."""
        if self._retry_delay_scale == 1.0:
            return {}
        return {
            "PYTHONPATH": f"{RETRY_SCALE_DIR}{os.pathsep}{self.spec.asset_dir}",
            RETRY_SCALE_ENV_VAR: repr(self._retry_delay_scale),
        }

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
            self.cloudformation_api.stop,
            self._workdir.cleanup,
        ]
        for stop in stops:
            if not stop:
                continue
            try:
                stop()
            except Exception:  # noqa: S112 - keep stopping the rest
                continue

    def invoke_event(self, event: dict[str, Any]) -> None:
        """Invoke the function with a hand-made event, as anyone allowed to invoke it could: nothing
        of CloudFormation's stacks changes, and the event's ResponseURL is whatever it says."""
        self._invoke_async(event)

    def _invoke_async(self, event: dict[str, Any]) -> None:
        """CloudFormation invokes the ServiceToken (the function, or a version or alias of it) with
        InvocationType Event, as the deploying principal: not the function's role, so no IAM here."""
        target = self.lambda_api.target(str(event.get("ServiceToken", self.spec.function_arn)))
        target.runtime.invoke_async(event, invoked_function_arn=target.invoked_arn)

    def stack(self, name: str, **options: Any) -> Stack:
        return Stack(self.cloudformation, name, **options)
