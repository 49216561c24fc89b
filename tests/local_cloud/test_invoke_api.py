"""Lambda's Invoke API in front of local runtimes, driven by an unmodified boto3 lambda client."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_cloud.lambda_runtime import FunctionSpec, LambdaInvokeApi, LocalLambdaRuntime

BASIC = Path(__file__).parent / "fixtures" / "lambda_runtime" / "basic"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:fixture-fn"


@pytest.fixture
def api() -> Iterator[LambdaInvokeApi]:
    with LambdaInvokeApi() as server:
        yield server


@pytest.fixture
def lambda_client(api: LambdaInvokeApi) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=api.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 0}),
    )


@pytest.fixture
def make_function(api: LambdaInvokeApi) -> Iterator[Callable[..., LocalLambdaRuntime]]:
    created: list[LocalLambdaRuntime] = []

    def factory(handler: str, **kwargs: Any) -> LocalLambdaRuntime:
        spec = FunctionSpec(asset_dir=BASIC, handler=handler, function_name="fixture-fn")
        extra_env = {"AWS_ENDPOINT_URL_LAMBDA": api.endpoint_url, **kwargs.pop("extra_env", {})}
        runtime = LocalLambdaRuntime(spec, extra_env=extra_env, **kwargs)
        api.register(runtime)
        created.append(runtime)
        return runtime

    yield factory
    for runtime in created:
        runtime.close()


def _payload(response: dict[str, Any]) -> Any:
    return json.loads(response["Payload"].read())


def test_request_response_returns_the_payload_for_every_name_form(make_function, lambda_client, api) -> None:
    make_function("app.echo")
    names = ["fixture-fn", ARN, "123456789012:function:fixture-fn", "fixture-fn:$LATEST", f"{ARN}:$LATEST"]

    responses = [lambda_client.invoke(FunctionName=name, Payload=b'{"n": 1}') for name in names]
    qualified = lambda_client.invoke(FunctionName="fixture-fn", Qualifier="$LATEST", Payload=b"{}")

    for response in [*responses, qualified]:
        assert response["StatusCode"] == 200
        assert response["ExecutedVersion"] == "$LATEST"
        assert "FunctionError" not in response
    first = _payload(responses[0])
    assert first["event"] == {"n": 1}
    assert responses[0]["ResponseMetadata"]["RequestId"] == first["request_id"]
    assert [r.function_name for r in api.invocations] == [*names, "fixture-fn"]
    assert {(r.invocation_type, r.status, r.resolved_function) for r in api.invocations} == {
        ("RequestResponse", 200, "fixture-fn")
    }


def test_function_error_is_a_200_with_function_error_header(make_function, lambda_client) -> None:
    make_function("app.fail")

    response = lambda_client.invoke(FunctionName="fixture-fn", Payload=b'{"message": "nope"}')

    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = _payload(response)
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "fixture failure: nope"


def test_event_is_accepted_with_202_and_runs_asynchronously(make_function, lambda_client, api) -> None:
    runtime = make_function("app.echo")

    response = lambda_client.invoke(FunctionName=ARN, InvocationType="Event", Payload=b'{"async": true}')
    runtime.wait_for_async(30)

    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    request_id = response["ResponseMetadata"]["RequestId"]
    (attempt,) = runtime.attempts_for(request_id)
    assert attempt.invocation_type == "Event"
    assert attempt.event == {"async": True}
    assert attempt.outcome == "success"
    assert api.invocations[0].request_id == request_id


def test_dry_run_answers_204_without_running(make_function, lambda_client) -> None:
    runtime = make_function("app.echo")

    response = lambda_client.invoke(FunctionName="fixture-fn", InvocationType="DryRun")

    assert response["StatusCode"] == 204
    assert runtime.attempts == []
    assert runtime.environments_started == 0


@pytest.mark.parametrize(
    ("name", "qualifier"),
    [
        ("missing-fn", None),
        ("fixture-fn", "1"),
        ("fixture-fn:prod", None),
        ("arn:aws:lambda:us-east-1:999999999999:function:fixture-fn", None),
        ("arn:aws:lambda:eu-west-1:123456789012:function:fixture-fn", None),
    ],
)
def test_unknown_function_raises_resource_not_found(make_function, lambda_client, api, name, qualifier) -> None:
    make_function("app.echo")
    kwargs = {"Qualifier": qualifier} if qualifier else {}

    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException) as caught:
        lambda_client.invoke(FunctionName=name, **kwargs)

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert caught.value.response["Error"]["Message"].startswith("Function not found: ")
    assert api.invocations[-1].status == 404
    assert api.invocations[-1].error_code == "ResourceNotFoundException"


def test_request_errors_use_lambdas_codes(make_function, lambda_client) -> None:
    make_function("app.echo")

    with pytest.raises(lambda_client.exceptions.InvalidRequestContentException):
        lambda_client.invoke(FunctionName="fixture-fn", Payload=b"not json")
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException):
        lambda_client.invoke(FunctionName="fixture-fn:$LATEST", Qualifier="1")
    with pytest.raises(lambda_client.exceptions.RequestTooLargeException):
        lambda_client.invoke(FunctionName="fixture-fn", InvocationType="Event", Payload=b'"' + b"x" * 1048577 + b'"')


def test_reserved_concurrency_throttles_request_response(make_function, lambda_client) -> None:
    runtime = make_function("app.slow", reserved_concurrency=1)
    thread = threading.Thread(target=lambda: lambda_client.invoke(FunctionName="fixture-fn", Payload=b'{"seconds": 1}'))
    thread.start()
    runtime.wait_for_log("slow handler started")

    with pytest.raises(ClientError) as caught:
        lambda_client.invoke(FunctionName="fixture-fn", Payload=b'{"seconds": 0}')

    thread.join(10)
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


def test_function_re_invokes_itself_asynchronously(make_function, lambda_client, api) -> None:
    """The continuation loop: the handler invokes context.invoked_function_arn with Event."""
    runtime = make_function("app.chain")

    lambda_client.invoke(FunctionName="fixture-fn", InvocationType="Event", Payload=b'{"hops": 3}')
    api.wait_for_invocations(4, timeout=30)
    runtime.wait_for_async(30)

    received = api.invocations
    assert [r.function_name for r in received] == ["fixture-fn", ARN, ARN, ARN]
    assert {(r.invocation_type, r.status, r.resolved_function) for r in received} == {("Event", 202, "fixture-fn")}
    attempts = sorted(runtime.attempts, key=lambda a: a.started_at)
    assert [a.event["hops"] for a in attempts] == [3, 2, 1, 0]
    assert all(a.outcome == "success" and a.invocation_type == "Event" for a in attempts)
    assert [r.request_id for r in received] == [a.request_id for a in attempts]


def test_versions_and_aliases_run_the_function_as_their_qualified_arn(make_function, lambda_client, api) -> None:
    make_function("app.inspect")
    assert api.publish_version("fixture-fn") == "1"
    assert api.publish_version("fixture-fn") == "2"
    assert api.add_alias("fixture-fn", "live") == f"{ARN}:live"
    assert api.add_alias("fixture-fn", "stable", version="1") == f"{ARN}:stable"

    cases = [
        ({"FunctionName": f"{ARN}:live"}, f"{ARN}:live", "$LATEST"),
        ({"FunctionName": "fixture-fn", "Qualifier": "stable"}, f"{ARN}:stable", "1"),
        ({"FunctionName": "fixture-fn:2"}, f"{ARN}:2", "2"),
        ({"FunctionName": "123456789012:function:fixture-fn:$LATEST"}, f"{ARN}:$LATEST", "$LATEST"),
        ({"FunctionName": "fixture-fn"}, ARN, "$LATEST"),
    ]
    for kwargs, invoked_arn, version in cases:
        response = lambda_client.invoke(Payload=b"{}", **kwargs)
        assert _payload(response)["invoked_function_arn"] == invoked_arn, kwargs
        assert response["ExecutedVersion"] == version, kwargs


def test_an_alias_invoked_asynchronously_stays_qualified_through_its_continuations(
    make_function, lambda_client, api
) -> None:
    runtime = make_function("app.chain")
    api.add_alias("fixture-fn", "live")

    lambda_client.invoke(FunctionName="fixture-fn:live", InvocationType="Event", Payload=b'{"hops": 2}')
    api.wait_for_invocations(3, timeout=30)
    runtime.wait_for_async(30)

    assert [r.function_name for r in api.invocations] == ["fixture-fn:live", f"{ARN}:live", f"{ARN}:live"]
    assert all(a.outcome == "success" for a in runtime.attempts)


def test_unknown_versions_and_bad_alias_names_are_refused(make_function, lambda_client, api) -> None:
    make_function("app.echo")
    api.publish_version("fixture-fn")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName="fixture-fn:2")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        lambda_client.invoke(FunctionName="fixture-fn", Qualifier="missing")
    with pytest.raises(ValueError, match="invalid alias name"):
        api.add_alias("fixture-fn", "123")  # all digits: a version number
    with pytest.raises(ValueError, match="version '7' of fixture-fn is not published"):
        api.add_alias("fixture-fn", "future", version="7")
