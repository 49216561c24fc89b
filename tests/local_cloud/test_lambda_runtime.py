"""Local Lambda runtime: fixture handlers run under the real awslambdaric behind our Runtime API."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local_cloud.lambda_runtime import (
    CloudAssemblyError,
    FunctionSpec,
    InvocationResult,
    LocalLambdaRuntime,
    RuntimeClosedError,
    TooManyRequestsError,
)

FIXTURES = Path(__file__).parent / "fixtures" / "lambda_runtime"
BASIC = FIXTURES / "basic"
PROVIDER_HANDLER = "sc_plan_provider.handler.lambda_handler"

MakeRuntime = Callable[..., LocalLambdaRuntime]


@pytest.fixture
def make_runtime() -> Iterator[MakeRuntime]:
    created: list[LocalLambdaRuntime] = []

    def factory(
        handler: str,
        asset_dir: Path = BASIC,
        environment: dict[str, str] | None = None,
        tracing_mode: str = "PassThrough",
        **kwargs: Any,
    ) -> LocalLambdaRuntime:
        spec = FunctionSpec(
            asset_dir=asset_dir,
            handler=handler,
            environment=environment or {},
            function_name="fixture-fn",
            tracing_mode=tracing_mode,
        )
        runtime = LocalLambdaRuntime(spec, **kwargs)
        created.append(runtime)
        return runtime

    yield factory
    for runtime in created:
        runtime.close()


def _in_thread(fn: Callable[[], InvocationResult]) -> tuple[threading.Thread, list[InvocationResult]]:
    results: list[InvocationResult] = []
    thread = threading.Thread(target=lambda: results.append(fn()))
    thread.start()
    return thread, results


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- synchronous invocation ------------------------------------------------------------------------


def test_sync_invoke_returns_payload_and_warm_environment_is_reused(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime("app.echo")

    first = runtime.invoke({"n": 1, "text": "héllo"})
    second = runtime.invoke({"n": 2})

    assert first.ok and first.function_error is None
    assert first.payload["event"] == {"n": 1, "text": "héllo"}
    assert first.payload["request_id"] == first.request_id
    assert (first.payload["counter"], second.payload["counter"]) == (1, 2)  # module state survived
    assert first.payload["pid"] == second.payload["pid"]
    assert runtime.environments_started == 1
    assert runtime.cold_starts == 1
    assert [a.cold_start for a in runtime.attempts] == [True, False]
    assert f"START RequestId: {first.request_id}" in runtime.log_text()


def test_concurrent_invocations_start_a_second_environment(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime("app.slow")

    threads = [_in_thread(lambda: runtime.invoke({"seconds": 0.8})) for _ in range(2)]
    for thread, _ in threads:
        thread.join(10)
    results = [results[0] for _, results in threads]

    assert all(r.ok for r in results)
    assert {r.env_id for r in results} == {"env-1", "env-2"}
    assert len({r.payload["pid"] for r in results}) == 2
    assert runtime.environments_started == 2
    assert runtime.invoke({"seconds": 0}).ok
    assert runtime.environments_started == 2  # a warm one took it


def test_reserved_concurrency_throttles_synchronous_invoke(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime("app.slow", reserved_concurrency=1)
    thread, results = _in_thread(lambda: runtime.invoke({"seconds": 0.8}))
    runtime.wait_for_log("slow handler started")

    with pytest.raises(TooManyRequestsError):
        runtime.invoke({"seconds": 0})

    thread.join(10)
    assert results[0].ok
    assert runtime.environments_started == 1


def test_deadline_kills_the_environment_and_reports_a_timeout(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime("app.slow", timeout=1)
    started = time.monotonic()

    result = runtime.invoke({"seconds": 30})

    assert time.monotonic() - started < 5
    assert result.outcome == "timeout" and result.function_error == "Unhandled"
    assert result.error_type == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in (result.error_message or "")
    assert json.loads(result.raw_payload)["errorType"] == "Sandbox.Timedout"
    assert "env-1" not in runtime.live_environment_ids()

    again = runtime.invoke({"seconds": 0})
    assert again.ok and again.env_id == "env-2"
    assert runtime.environments_started == 2


def test_an_environment_is_frozen_between_invocations(make_runtime: MakeRuntime, tmp_path: Path) -> None:
    """Lambda freezes the environment once the handler returned: a thread it left running makes no
    progress until the next invocation thaws it."""
    runtime = make_runtime("app.ticker")
    ticks = tmp_path / "ticks"
    assert runtime.invoke({"path": str(ticks), "start": True}).payload["ticks"] > 0
    frozen_at = len(ticks.read_text())
    time.sleep(0.6)
    assert len(ticks.read_text()) == frozen_at  # not one tick while frozen
    during = runtime.invoke({"path": str(ticks), "hold": 0.6}).payload["ticks"]  # thawed: it goes on
    assert during > frozen_at + 3


def test_handler_exception_is_lambdas_error_object_and_environment_stays_warm(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime("app.fail")

    result = runtime.invoke({"message": "nope"})
    runtime.invoke({})

    assert result.outcome == "error"
    assert result.error is not None
    assert result.error["errorType"] == "ValueError"
    assert result.error["errorMessage"] == "fixture failure: nope"
    assert any("app.py" in line for line in result.error["stackTrace"])
    assert "[ERROR] ValueError: fixture failure: nope" in runtime.log_text()
    assert runtime.environments_started == 1


def test_process_exit_during_invocation_is_a_runtime_exit_error(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime("app.crash")

    result = runtime.invoke({})

    assert result.outcome == "crash"
    assert result.error_type == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in (result.error_message or "")
    assert runtime.invoke({}).env_id == "env-2"


def test_import_failure_is_reported_as_init_error(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime("app.handler", asset_dir=FIXTURES / "broken")

    result = runtime.invoke({})

    assert result.outcome == "init_error"
    assert result.error_type == "Runtime.ImportModuleError"
    assert "this_module_is_not_bundled" in (result.error_message or "")


# -- environment of the handler --------------------------------------------------------------------


def test_context_env_vars_and_extra_env_reach_the_handler_and_parent_env_does_not(
    make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "parent-secret-canary-7f3a"
    monkeypatch.setenv("LOCAL_CLOUD_LEAK_CANARY", canary)
    monkeypatch.setenv("AWS_PROFILE", canary)
    runtime = make_runtime(
        "app.inspect",
        environment={"TEMPLATE_VAR": "from-template"},
        extra_env={"AWS_ENDPOINT_URL_SERVICE_CATALOG": "https://127.0.0.1:4566", "SSL_CERT_FILE": "/tmp/ca.pem"},
        timeout=5,
    )
    names = [
        "AWS_ENDPOINT_URL_SERVICE_CATALOG",
        "SSL_CERT_FILE",
        "TEMPLATE_VAR",
        "LOCAL_CLOUD_LEAK_CANARY",
        "AWS_PROFILE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_EXECUTION_ENV",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "_HANDLER",
        "LAMBDA_TASK_ROOT",
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "_X_AMZN_TRACE_ID",
    ]

    result = runtime.invoke({"env": names}, client_context={"custom": {"k": "v"}})

    assert result.ok, result.error
    seen = result.payload
    env = seen["env"]
    assert 3000 < seen["remaining_ms"] <= 5000
    assert seen["function_name"] == "fixture-fn"
    assert seen["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:fixture-fn"
    assert seen["memory_limit_in_mb"] == "128"
    assert seen["log_group_name"] == "/aws/lambda/fixture-fn"
    assert seen["client_context"] == {"k": "v"}
    assert env["AWS_ENDPOINT_URL_SERVICE_CATALOG"] == "https://127.0.0.1:4566"
    assert env["SSL_CERT_FILE"] == "/tmp/ca.pem"
    assert env["TEMPLATE_VAR"] == "from-template"
    assert env["LOCAL_CLOUD_LEAK_CANARY"] is None and env["AWS_PROFILE"] is None
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.14"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["_HANDLER"] == "app.inspect"
    assert env["LAMBDA_TASK_ROOT"] == str(BASIC) == seen["cwd"]
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SESSION_TOKEN"]
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-") and env["_X_AMZN_TRACE_ID"].endswith(";Sampled=0")
    assert seen["crhelper"] == "fixture-bundled"  # the asset's bundled package, not the venv's
    assert canary not in runtime.log_text()
    assert not any(key.startswith(("PYTEST", "VIRTUAL_ENV")) for key in seen["env_keys"])


@pytest.mark.parametrize(("tracing_mode", "sampled"), [("Active", "1"), ("PassThrough", "0")])
def test_active_tracing_samples_every_invocation(make_runtime: MakeRuntime, tracing_mode: str, sampled: str) -> None:
    runtime = make_runtime("app.inspect", tracing_mode=tracing_mode, timeout=5)
    headers = [runtime.invoke({"env": ["_X_AMZN_TRACE_ID"]}).payload["env"]["_X_AMZN_TRACE_ID"] for _ in range(2)]
    assert [h.rsplit("Sampled=", 1)[1] for h in headers] == [sampled, sampled]
    assert headers[0].split(";")[0] != headers[1].split(";")[0]  # a new trace per invocation


# -- asynchronous invocation -----------------------------------------------------------------------


def test_async_invocation_retries_function_errors_with_the_same_request(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime("app.fail", retry_delays=(0.2, 0.4))

    request_id = runtime.invoke_async({"message": "again"})
    runtime.wait_for_async(15)

    attempts = runtime.attempts_for(request_id)
    assert [a.attempt for a in attempts] == [1, 2, 3]  # 1 + max_retry_attempts (2)
    assert all(a.invocation_type == "Event" and a.outcome == "error" for a in attempts)
    assert all(a.event == {"message": "again"} for a in attempts)
    assert attempts[1].started_at - attempts[0].ended_at >= 0.2
    assert attempts[2].started_at - attempts[1].ended_at >= 0.4
    final = runtime.async_result(request_id)
    assert final is not None and final.error_type == "ValueError"


def test_async_success_is_not_retried(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime("app.echo", max_retry_attempts=1, retry_delays=(0.1,))

    request_id = runtime.invoke_async({"x": 1})
    runtime.wait_for_async(10)

    assert [a.outcome for a in runtime.attempts_for(request_id)] == ["success"]
    result = runtime.async_result(request_id)
    assert result is not None and result.payload["event"] == {"x": 1}


def test_killed_environment_mid_invocation_async_retry_resumes_on_a_new_one(
    make_runtime: MakeRuntime, tmp_path: Path
) -> None:
    runtime = make_runtime("app.resumable", extra_env={"STATE_DIR": str(tmp_path)}, retry_delays=(0.1, 0.1))

    request_id = runtime.invoke_async({"mode": "hang"})
    runtime.wait_for_log(f"resumable started {request_id}")
    killed = runtime.kill_environment()
    runtime.wait_for_async(15)

    first, second = runtime.attempts_for(request_id)
    assert killed == first.env_id == "env-1"
    assert first.outcome == "crash"
    assert first.error is not None and "signal: killed" in first.error["errorMessage"]
    assert second.outcome == "success" and second.env_id == "env-2" and second.cold_start
    final = runtime.async_result(request_id)
    assert final is not None and final.payload["resumed_after"] == ["started"]


def test_async_timeout_is_retried_and_resumes(make_runtime: MakeRuntime, tmp_path: Path) -> None:
    runtime = make_runtime("app.resumable", extra_env={"STATE_DIR": str(tmp_path)}, timeout=1, retry_delays=(0.1, 0.1))

    request_id = runtime.invoke_async({"mode": "hang"})
    runtime.wait_for_async(15)

    outcomes = [(a.attempt, a.outcome, a.env_id) for a in runtime.attempts_for(request_id)]
    assert outcomes == [(1, "timeout", "env-1"), (2, "success", "env-2")]
    assert "Task timed out after 1.00 seconds" in runtime.log_text()


def test_kill_busy_without_busy_environment_and_unknown_id(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime("app.echo")
    assert runtime.kill_busy() == []
    with pytest.raises(LookupError):
        runtime.kill_environment()
    runtime.invoke({})
    assert runtime.kill_environment("env-1") == "env-1"
    assert runtime.invoke({}).env_id == "env-2"


# -- shutdown --------------------------------------------------------------------------------------


def test_close_kills_busy_and_idle_environments(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime("app.slow")
    idle_pid = runtime.invoke({"seconds": 0}).payload["pid"]
    outcome: list[str] = []

    def invoke_slow() -> None:
        try:
            outcome.append(runtime.invoke({"seconds": 30}).outcome)
        except RuntimeClosedError:  # close() may win the race to the attempt's bookkeeping
            outcome.append("closed")

    thread = threading.Thread(target=invoke_slow)
    thread.start()
    runtime.wait_for_log("slow handler started")

    runtime.close()
    thread.join(10)

    assert not thread.is_alive()
    assert outcome in (["crash"], ["closed"])
    assert not _pid_alive(idle_pid)
    assert runtime.live_environment_ids() == []
    with pytest.raises(Exception, match="closed"):
        runtime.invoke({})


# -- cloud assembly --------------------------------------------------------------------------------


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def _fake_cdk_out(root: Path) -> Path:
    """A hand-written cdk.out: one app stack with two functions, and a Stage with one more."""
    cdk_out = root / "cdk.out"
    shutil.copytree(BASIC, cdk_out / "asset.0a1b2c")
    (cdk_out / "asset.framework").mkdir()
    provider = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": {"S3Bucket": {"Fn::Sub": "cdk-hnb659fds-assets"}, "S3Key": "0a1b2c.zip"},
            "Handler": PROVIDER_HANDLER,
            "Runtime": "python3.14",
            "Timeout": 900,
            "MemorySize": 256,
            "TracingConfig": {"Mode": "Active"},
            "Environment": {
                "Variables": {
                    "POWERTOOLS_SERVICE_NAME": "sc-plan",
                    "MAX_WAIT": 600,
                    "TOPIC_ARN": {"Ref": "Topic"},
                    "ROLE_ARN": {"Fn::GetAtt": ["Role", "Arn"]},
                    "REGION_ARN": {"Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, {"Ref": "AWS::Region"}]]},
                }
            },
        },
        "Metadata": {"aws:asset:path": "asset.0a1b2c", "aws:asset:is-bundled": True},
    }
    framework = {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Handler": "index.handler", "Runtime": "nodejs22.x", "Code": {"S3Key": "framework.zip"}},
        "Metadata": {"aws:asset:path": "asset.framework"},
    }
    _write_json(
        cdk_out / "AppStack.template.json",
        {
            "Resources": {
                "ProviderFunctionA1B2": provider,
                "FrameworkOnEvent": framework,
                "Topic": {"Type": "AWS::SNS::Topic"},
            }
        },
    )
    staged = {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "app.echo", "Code": {"S3Key": "0a1b2c.zip"}}}
    _write_json(cdk_out / "assembly-Prod" / "ProdStack.template.json", {"Resources": {"Echo": staged}})
    (cdk_out / "assembly-Prod" / "asset.0a1b2c").symlink_to(cdk_out / "asset.0a1b2c")
    _write_json(
        cdk_out / "assembly-Prod" / "manifest.json",
        {
            "version": "55.0.0",
            "artifacts": {
                "ProdStack": {
                    "type": "aws:cloudformation:stack",
                    "environment": "aws://111122223333/eu-west-1",
                    "properties": {"templateFile": "ProdStack.template.json", "stackName": "Prod-Stack"},
                }
            },
        },
    )
    _write_json(
        cdk_out / "manifest.json",
        {
            "version": "55.0.0",
            "artifacts": {
                "AppStack": {
                    "type": "aws:cloudformation:stack",
                    "environment": "aws://unknown-account/unknown-region",
                    "properties": {"templateFile": "AppStack.template.json"},
                },
                "assembly-Prod": {
                    "type": "cdk:cloud-assembly",
                    "properties": {"directoryName": "assembly-Prod", "displayName": "Prod"},
                },
                "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
            },
        },
    )
    return cdk_out


def test_function_spec_from_cloud_assembly(tmp_path: Path) -> None:
    cdk_out = _fake_cdk_out(tmp_path)

    spec = FunctionSpec.from_cloud_assembly(cdk_out, "AppStack", handler=PROVIDER_HANDLER)

    assert spec.asset_dir == (cdk_out / "asset.0a1b2c").resolve()
    assert spec.handler == PROVIDER_HANDLER
    assert (spec.timeout, spec.memory_size) == (900, 256)
    assert spec.logical_id == "ProviderFunctionA1B2"
    assert spec.function_name == "AppStack-ProviderFunctionA1B2"
    assert spec.function_arn == "arn:aws:lambda:us-east-1:123456789012:function:AppStack-ProviderFunctionA1B2"
    assert spec.environment["POWERTOOLS_SERVICE_NAME"] == "sc-plan"
    assert spec.environment["MAX_WAIT"] == "600"
    assert spec.environment["REGION_ARN"] == "arn:aws:us-east-1"
    assert spec.environment["TOPIC_ARN"] == '<unresolved {"Ref":"Topic"}>'
    assert spec.environment["ROLE_ARN"].startswith("<unresolved ")
    assert set(spec.unresolved_environment) == {"TOPIC_ARN", "ROLE_ARN"}
    assert spec.execution_env == "AWS_Lambda_python3.14"
    assert spec.traced

    skipped = FunctionSpec.from_cloud_assembly(cdk_out, handler=PROVIDER_HANDLER, skip_unresolved=True)
    assert "TOPIC_ARN" not in skipped.environment


def test_cloud_assembly_selection_errors_and_nested_stage(tmp_path: Path) -> None:
    cdk_out = _fake_cdk_out(tmp_path)

    with pytest.raises(CloudAssemblyError, match="exactly one"):
        FunctionSpec.from_cloud_assembly(cdk_out, "AppStack")  # two functions, no handler filter
    with pytest.raises(CloudAssemblyError, match="no stack"):
        FunctionSpec.from_cloud_assembly(cdk_out, "Missing")

    staged = FunctionSpec.from_cloud_assembly(cdk_out, "Prod-Stack")  # found via S3Key, in a Stage
    assert staged.tracing_mode == "PassThrough" and not staged.traced
    assert staged.asset_dir.name == "asset.0a1b2c"
    assert (staged.region, staged.account_id, staged.timeout) == ("eu-west-1", "111122223333", 3)


def test_spec_from_cloud_assembly_runs(tmp_path: Path) -> None:
    spec = FunctionSpec.from_cloud_assembly(_fake_cdk_out(tmp_path), "ProdStack", handler="app.echo")

    with LocalLambdaRuntime(spec, timeout=5) as runtime:
        result = runtime.invoke({"from": "cdk.out"})

    assert result.ok and result.payload["event"] == {"from": "cdk.out"}
    assert not list((spec.asset_dir).rglob("__pycache__"))  # the asset stays untouched


def test_function_spec_from_a_plain_template_and_a_code_folder(tmp_path: Path) -> None:
    cdk_out = _fake_cdk_out(tmp_path)
    template = cdk_out / "AppStack.template.json"
    code = tmp_path / "unzipped"
    code.mkdir()

    spec = FunctionSpec.from_template(
        template, code, PROVIDER_HANDLER, stack_name="shared", region="eu-west-1", account_id="111122223333"
    )

    assert spec.asset_dir == code.resolve()  # the caller's code, not an asset folder
    assert (spec.logical_id, spec.timeout, spec.memory_size) == ("ProviderFunctionA1B2", 900, 256)
    assert spec.function_arn == "arn:aws:lambda:eu-west-1:111122223333:function:shared-ProviderFunctionA1B2"
    assert spec.environment["REGION_ARN"] == "arn:aws:eu-west-1"
    assert spec.template_path == template.resolve()
    with pytest.raises(CloudAssemblyError, match="exactly one"):
        FunctionSpec.from_template(template, code)  # two functions, no handler filter
    with pytest.raises(CloudAssemblyError, match="does not exist"):
        FunctionSpec.from_template(template, tmp_path / "missing", PROVIDER_HANDLER)
