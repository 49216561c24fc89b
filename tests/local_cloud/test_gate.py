"""The request gate in front of every local service, seen through unmodified boto3 clients: IAM
denials and injected faults parse as the real services' errors, planned faults land on the calls
they name, and a killed caller is the environment that made the call."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionClosedError, ReadTimeoutError

from local_cloud.cloudformation.response_server import ResponseServer
from local_cloud.dynamodb import LocalDynamoDB
from local_cloud.gate import Fault, FaultPlan, Principal, RequestGate, ServiceRequest, role_credentials
from local_cloud.iam.policy import PolicySet
from local_cloud.lambda_runtime import FunctionSpec, LambdaInvokeApi, LocalLambdaRuntime
from local_cloud.servicecatalog import ServiceCatalogEmulator
from local_cloud.tls import TlsMaterial, create_tls_material

BASIC = Path(__file__).parent / "fixtures" / "lambda_runtime" / "basic"
ACCOUNT = "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fixture-fn"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/fixture-role/fixture-fn"
TABLE = "Items"
OTHER_TABLE = "Others"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}"
CREDENTIALS = role_credentials("fixture-role")
POLICY = {
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["servicecatalog:DescribeRecord", "servicecatalog:ExecuteProvisionedProductPlan"],
            "Resource": "*",
        },
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"], "Resource": TABLE_ARN},
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": FUNCTION_ARN},
        {"Effect": "Deny", "Action": "servicecatalog:TerminateProvisionedProduct", "Resource": "*"},
    ]
}
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=10)


@dataclass
class Services:
    gate: RequestGate
    sc: ServiceCatalogEmulator
    ddb: LocalDynamoDB
    api: LambdaInvokeApi
    responses: ResponseServer
    tls: TlsMaterial
    function: LocalLambdaRuntime

    def client(self, service: str, *, admin: bool = False, config: Config = NO_RETRIES) -> Any:
        endpoints = {"servicecatalog": self.sc.endpoint_url, "dynamodb": self.ddb.endpoint_url}
        endpoints["lambda"] = self.api.endpoint_url
        keys = (
            {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
            if admin
            else {
                "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                "aws_session_token": CREDENTIALS["AWS_SESSION_TOKEN"],
            }
        )
        return boto3.client(service, endpoint_url=endpoints[service], region_name="us-east-1", config=config, **keys)

    def response_url(self) -> str:
        return self.responses.expect(stack_id="arn:stack", logical_resource_id="R", request_id=str(time.time())).url

    def put(self, url: str, timeout: float = 10.0) -> int:
        request = urllib.request.Request(url, data=b'{"Status": "SUCCESS"}', method="PUT")
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self.tls.client_context()) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    gate = RequestGate(account_id=ACCOUNT, region="us-east-1")
    gate.add_principal(
        Principal("fixture-fn", SESSION_ARN, CREDENTIALS, PolicySet.from_documents([("fixture-policy", POLICY)]))
    )
    tls = create_tls_material(tmp_path / "tls")
    with (
        ServiceCatalogEmulator(gate=gate) as sc,
        LocalDynamoDB(gate=gate) as ddb,
        LambdaInvokeApi(gate=gate) as api,
    ):
        responses = ResponseServer(tls, gate=gate)
        for name in (TABLE, OTHER_TABLE):
            ddb.client().create_table(
                TableName=name,
                KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        spec = FunctionSpec(asset_dir=BASIC, handler="app.call", function_name="fixture-fn")
        env = {
            "AWS_ENDPOINT_URL_SERVICE_CATALOG": sc.endpoint_url,
            "AWS_ENDPOINT_URL_DYNAMODB": ddb.endpoint_url,
            "AWS_ENDPOINT_URL_LAMBDA": api.endpoint_url,
            "SSL_CERT_FILE": str(tls.ca_file),
            **CREDENTIALS,
        }
        function = LocalLambdaRuntime(spec, timeout=20, extra_env=env, max_retry_attempts=0)
        api.register(function)
        gate.kill_caller = function.kill_caller
        gate.clear_calls()  # the tables' creation above
        try:
            yield Services(gate, sc, ddb, api, responses, tls, function)
        finally:
            function.close()
            responses.close()
            for name in (TABLE, OTHER_TABLE):
                ddb.client().delete_table(TableName=name)


def error_of(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def update_item(client: Any, table: str = TABLE, key: str = "a") -> Any:
    return client.update_item(
        TableName=table,
        Key={"k": {"S": key}},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )


def seen(services: Services, key: str = "a") -> int:
    item = services.ddb.client().get_item(TableName=TABLE, Key={"k": {"S": key}}).get("Item")
    return int(item["n"]["N"]) if item else 0


# -- IAM -----------------------------------------------------------------------------------------


def test_service_catalog_denies_what_the_role_does_not_allow(services: Services) -> None:
    sc = services.client("servicecatalog")
    # Allowed: the emulator itself answers (there is no such record).
    assert error_of(lambda: sc.describe_record(Id="rec-missing"))[0] == "ResourceNotFoundException"
    code, status, message = error_of(lambda: sc.describe_provisioned_product(Id="pp-1"))
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == (
        f"User: {SESSION_ARN} is not authorized to perform: servicecatalog:DescribeProvisionedProduct "
        "because no identity-based policy allows the servicecatalog:DescribeProvisionedProduct action"
    )
    code, _, message = error_of(
        lambda: sc.terminate_provisioned_product(ProvisionedProductId="pp-1", TerminateToken="t")
    )
    assert code == "AccessDeniedException"
    assert message.endswith(
        "servicecatalog:TerminateProvisionedProduct with an explicit deny in an identity-based policy"
    )
    # The account's administrator (any other key) is not the role.
    admin = services.client("servicecatalog", admin=True)
    assert error_of(lambda: admin.describe_provisioned_product(Id="pp-1"))[0] == "ResourceNotFoundException"
    assert [(c.operation, c.caller, c.outcome) for c in services.gate.calls(include_admin=True)] == [
        ("DescribeRecord", "fixture-fn", "ResourceNotFoundException"),
        ("DescribeProvisionedProduct", "fixture-fn", "AccessDeniedException"),
        ("TerminateProvisionedProduct", "fixture-fn", "AccessDeniedException"),
        ("DescribeProvisionedProduct", None, "ResourceNotFoundException"),
    ]
    assert [c.denied for c in services.gate.calls()] == [False, True, True]


def test_service_catalog_injections_of_the_emulator_still_work_behind_the_gate(services: Services) -> None:
    services.sc.deny(["DescribeRecord"])
    code, _, message = error_of(lambda: services.client("servicecatalog").describe_record(Id="rec-1"))
    assert code == "AccessDeniedException"
    assert "injected by the emulator" in message


def test_dynamodb_denies_tables_the_role_does_not_name(services: Services) -> None:
    ddb = services.client("dynamodb")
    update_item(ddb)
    assert seen(services) == 1
    code, status, message = error_of(lambda: update_item(ddb, OTHER_TABLE))
    other_arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{OTHER_TABLE}"
    assert (code, status) == ("AccessDeniedException", 400)
    assert message == (
        f"User: {SESSION_ARN} is not authorized to perform: dynamodb:UpdateItem on resource: {other_arn} "
        "because no identity-based policy allows the dynamodb:UpdateItem action"
    )
    code, *_ = error_of(lambda: ddb.batch_get_item(RequestItems={TABLE: {"Keys": [{"k": {"S": "a"}}]}}))
    assert code == "AccessDeniedException"  # BatchGetItem is its own action
    update_item(services.client("dynamodb", admin=True), OTHER_TABLE)


def test_dynamodb_denial_has_dynamodbs_json_shape(services: Services) -> None:
    import zlib

    request = urllib.request.Request(
        services.ddb.endpoint_url,
        data=json.dumps({"TableName": OTHER_TABLE, "Key": {"k": {"S": "a"}}}).encode(),
        headers={
            "X-Amz-Target": "DynamoDB_20120810.GetItem",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={CREDENTIALS['AWS_ACCESS_KEY_ID']}/20260101/us-east-1/"
            "dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    body = raised.value.read()
    assert raised.value.code == 400
    assert json.loads(body)["__type"] == "com.amazon.coral.service#AccessDeniedException"
    assert raised.value.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert raised.value.headers["x-amz-crc32"] == str(zlib.crc32(body))


def test_lambda_denies_a_qualified_arn_the_role_names_unqualified(services: Services) -> None:
    services.api.add_alias("fixture-fn", "live")
    lam = services.client("lambda")
    event = json.dumps({"service": "sts", "method": "get_caller_identity"}).encode()
    assert lam.invoke(FunctionName=FUNCTION_ARN, InvocationType="DryRun", Payload=event)["StatusCode"] == 204
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName=f"{FUNCTION_ARN}:live", InvocationType="DryRun")
    response = raised.value.response
    assert response["Error"]["Code"] == "AccessDeniedException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "AccessDeniedException"
    assert response["Error"]["Message"] == (
        f"User: {SESSION_ARN} is not authorized to perform: lambda:InvokeFunction on resource: {FUNCTION_ARN}:live "
        "because no identity-based policy allows the lambda:InvokeFunction action"
    )
    code, *_ = error_of(lambda: lam.invoke(FunctionName="fixture-fn", Qualifier="live", InvocationType="DryRun"))
    assert code == "AccessDeniedException"  # the same resource, named by Qualifier
    admin = services.client("lambda", admin=True)
    assert admin.invoke(FunctionName=f"{FUNCTION_ARN}:live", InvocationType="DryRun")["StatusCode"] == 204


# -- faults, kind by kind, service by service ----------------------------------------------------


def sc_call(services: Services, config: Config = NO_RETRIES) -> Callable[[], Any]:
    client = services.client("servicecatalog", config=config)
    return lambda: client.describe_record(Id="rec-missing")


def ddb_call(services: Services, config: Config = NO_RETRIES) -> Callable[[], Any]:
    client = services.client("dynamodb", config=config)
    return lambda: update_item(client)


def lambda_call(services: Services, config: Config = NO_RETRIES) -> Callable[[], Any]:
    client = services.client("lambda", config=config)
    return lambda: client.invoke(FunctionName=FUNCTION_ARN, InvocationType="DryRun")


CALLS = {"servicecatalog": sc_call, "dynamodb": ddb_call, "lambda": lambda_call}


@pytest.mark.parametrize(
    ("service", "fault", "expected"),
    [
        ("servicecatalog", Fault.throttle(), ("ThrottlingException", 400)),
        ("servicecatalog", Fault.not_found(), ("ResourceNotFoundException", 400)),
        ("servicecatalog", Fault.server_error(), ("InternalFailure", 500)),
        ("dynamodb", Fault.throttle(), ("ThrottlingException", 400)),
        (
            "dynamodb",
            Fault.throttle("ProvisionedThroughputExceededException"),
            ("ProvisionedThroughputExceededException", 400),
        ),
        ("dynamodb", Fault.not_found(), ("ResourceNotFoundException", 400)),
        ("dynamodb", Fault.server_error(), ("InternalServerError", 500)),
        ("lambda", Fault.throttle(), ("TooManyRequestsException", 429)),
        ("lambda", Fault.not_found(), ("ResourceNotFoundException", 404)),
        ("lambda", Fault.server_error(), ("ServiceException", 500)),
    ],
)
def test_refusing_faults_parse_as_the_services_errors(
    services: Services, service: str, fault: Fault, expected: tuple[str, int]
) -> None:
    call = CALLS[service](services)
    services.gate.faults.add(fault, service=service)
    assert error_of(call)[:2] == expected
    if service == "dynamodb":
        assert seen(services) == 0  # refused: never carried out
    try:  # only the first call was planned: the next one gets the service's own answer (or its own error)
        call()
    except ClientError as error:
        assert error.response["Error"]["Code"] == ("ResourceNotFoundException" if service == "servicecatalog" else "")
    calls = services.gate.calls()
    assert (calls[0].fault, calls[0].outcome) == (fault.kind, expected[0])
    assert calls[1].fault is None


def test_refusing_faults_on_the_response_url_answer_as_s3(services: Services) -> None:
    services.gate.faults.add(Fault.throttle(), service="s3", operation="PutObject")
    services.gate.faults.add(Fault.server_error(), service="s3", at=2)
    url = services.response_url()
    assert [services.put(url), services.put(url), services.put(url)] == [503, 500, 200]
    assert [c.outcome for c in services.gate.calls()] == ["SlowDown", "InternalError", "ok"]
    with pytest.raises(ValueError, match="s3 has no not_found fault"):
        services.gate.faults.add(Fault.not_found(), service="s3")


@pytest.mark.parametrize("service", ["servicecatalog", "dynamodb", "lambda"])
def test_a_slow_answer_times_the_client_out_after_the_call_took_effect(services: Services, service: str) -> None:
    impatient = Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=0.5)
    call = CALLS[service](services, impatient)
    services.gate.faults.add(Fault.slow(1.5), service=service)
    with pytest.raises(ReadTimeoutError):
        call()
    finished = services.gate.wait_for_calls(lambda calls: len(calls) == 1, timeout=10)
    assert finished[0].fault == "slow"
    assert finished[0].ended_at is not None and finished[0].ended_at - finished[0].started_at >= 1.5
    if service == "dynamodb":
        assert seen(services) == 1  # carried out; only the answer was late


def test_a_slow_answer_within_the_timeout_arrives_late_and_a_dropped_one_never(services: Services) -> None:
    ddb = services.client("dynamodb")
    services.gate.faults.add(Fault.slow(0.6), service="dynamodb", operation="UpdateItem")
    services.gate.faults.add(Fault.slow(0.2, then="drop"), service="dynamodb", operation="UpdateItem", at=2)
    started = time.monotonic()
    update_item(ddb)
    assert time.monotonic() - started >= 0.6
    with pytest.raises(ConnectionClosedError):
        update_item(ddb)
    assert seen(services) == 2
    assert [c.outcome for c in services.gate.calls()] == ["ok", "dropped"]

    services.gate.faults.add(Fault.slow(0.2, then="drop"), service="s3")
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        services.put(services.response_url())


KILLED_CALLS: dict[str, dict[str, Any]] = {
    "servicecatalog": {"service": "servicecatalog", "method": "describe_record", "params": {"Id": "rec-missing"}},
    "dynamodb": {
        "service": "dynamodb",
        "method": "update_item",
        "params": {
            "TableName": TABLE,
            "Key": {"k": {"S": "a"}},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        },
    },
    "lambda": {
        "service": "lambda",
        "method": "invoke",
        "params": {"FunctionName": FUNCTION_ARN, "InvocationType": "DryRun"},
    },
}


@pytest.mark.parametrize("service", ["servicecatalog", "dynamodb", "lambda", "s3"])
def test_kill_takes_down_the_environment_that_made_the_call(services: Services, service: str) -> None:
    def event() -> dict[str, Any]:
        if service == "s3":  # the ``put`` handler answers a fresh ResponseURL
            return {"url": services.response_url(), "body": '{"Status": "SUCCESS"}'}
        return KILLED_CALLS[service]

    handler = "app.put" if service == "s3" else "app.call"
    spec = FunctionSpec(asset_dir=BASIC, handler=handler, function_name="killed-fn")
    with LocalLambdaRuntime(spec, timeout=20, extra_env=services.function.extra_env, max_retry_attempts=0) as function:
        services.gate.kill_caller = function.kill_caller
        warm = function.invoke(event())
        assert warm.ok, warm.error

        services.gate.faults.add(Fault.kill(), service=service)  # counted from now: the next call
        killed = function.invoke(event())
        assert killed.outcome == "crash"
        assert killed.error_type == "Runtime.ExitError"
        assert killed.env_id == warm.env_id  # the warm environment that made the call
        calls = services.gate.wait_for_calls(lambda calls: len(calls) == 2, timeout=10)
        assert [(c.fault, c.outcome) for c in calls] == [(None, calls[0].outcome), ("kill", "dropped")]
        if service == "dynamodb":
            assert seen(services) == 2  # the killed call took effect
        after = function.invoke(event())
        assert after.ok and after.env_id != warm.env_id


# -- planning by position ------------------------------------------------------------------------


def test_rules_count_the_functions_calls_per_operation_per_service_or_overall(services: Services) -> None:
    ddb = services.client("dynamodb")
    admin = services.client("dynamodb", admin=True)
    faults = services.gate.faults
    per_operation = faults.add(Fault.server_error(), service="dynamodb", operation="UpdateItem", at=2, times=2)
    per_service = faults.add(Fault.not_found(), service="dynamodb", at=5)
    overall = faults.add(Fault.throttle(), at=7)

    def get() -> Any:
        return ddb.get_item(TableName=TABLE, Key={"k": {"S": "a"}})

    def update() -> Any:
        return update_item(ddb)

    outcomes = []
    for call in (update, lambda: update_item(admin), update, update, get, update, get, update):
        try:
            call()
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])
    # the function's calls: 1 ok, (the admin's: not counted), 2-3 UpdateItem 500, 4 GetItem ok,
    # 5 UpdateItem not found (5th DynamoDB call), 6 GetItem ok, 7 UpdateItem throttled (7th call)
    assert outcomes == [
        "ok",
        "ok",
        "InternalServerError",
        "InternalServerError",
        "ok",
        "ResourceNotFoundException",
        "ok",
        "ThrottlingException",
    ]
    assert (per_operation.seen, per_operation.applied) == (5, 2)
    assert (per_service.seen, per_service.applied) == (7, 1)
    assert (overall.seen, overall.applied) == (7, 1)
    assert [c.index for c in services.gate.calls()] == [1, 3, 4, 5, 6, 7, 8]  # the admin's call is index 2
    assert [c.fault for c in services.gate.calls()] == [
        None,
        "server_error",
        "server_error",
        None,
        "not_found",
        None,
        "throttle",
    ]
    faults.clear()
    update_item(ddb)


def test_a_throttle_longer_than_the_clients_attempts_reaches_the_caller(services: Services) -> None:
    three_attempts = Config(retries={"mode": "standard", "total_max_attempts": 3})
    ddb = services.client("dynamodb", config=three_attempts)
    services.gate.faults.add(Fault.throttle(), service="dynamodb", operation="UpdateItem", times=2)
    update_item(ddb)  # two throttles, retried, then carried out
    assert seen(services) == 1
    services.gate.faults.add(Fault.throttle(), service="dynamodb", operation="UpdateItem", times=3)
    assert error_of(lambda: update_item(ddb))[0] == "ThrottlingException"
    assert [c.outcome for c in services.gate.calls()] == ["ThrottlingException"] * 2 + ["ok"] + [
        "ThrottlingException"
    ] * 3
    assert seen(services) == 1


def test_a_rule_over_every_service_counts_positions_in_the_call_log() -> None:
    plan = FaultPlan()
    rule = plan.add(Fault.not_found(), at=2, times=2)
    trace = [
        ("dynamodb", "UpdateItem"),
        ("s3", "PutObject"),
        ("lambda", "Invoke"),
        ("servicecatalog", "DescribeRecord"),
    ]
    chosen = [plan.choose(ServiceRequest(service, operation, f"{service}:{operation}")) for service, operation in trace]
    # the 2nd call is the ResponseURL, which has no not-found: it passes, and the 3rd gets the fault
    assert [fault.kind if fault else None for fault in chosen] == [None, None, "not_found", None]
    assert (rule.seen, rule.applied) == (4, 1)
    with pytest.raises(ValueError, match="an operation needs its service"):
        plan.add(Fault.throttle(), operation="UpdateItem")
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")  # type: ignore[arg-type]


def test_a_rule_can_narrow_to_one_resource_and_count_runs_of_calls() -> None:
    plan = FaultPlan()
    owners = "arn:aws:dynamodb:us-east-1:123456789012:table/owners"
    ledger = "arn:aws:dynamodb:us-east-1:123456789012:table/requests"
    on_owners = plan.add(Fault.server_error(), service="dynamodb", operation="UpdateItem", resource=owners, at=2)
    second_wait = plan.add(
        Fault.throttle(), service="servicecatalog", operation="DescribeRecord", at=2, times=2, counting="runs"
    )

    def call(service: str, operation: str, resource: str = "*") -> str | None:
        chosen = plan.choose(ServiceRequest(service, operation, f"{service}:{operation}", (resource,)))
        return chosen.kind if chosen else None

    assert [call("dynamodb", "UpdateItem", ledger), call("dynamodb", "UpdateItem", owners)] == [None, None]
    assert call("dynamodb", "UpdateItem", owners) == "server_error"  # the 2nd write to the owners table
    # a first wait of three polls, a write, then a second wait: its first two polls are throttled
    first = [call("servicecatalog", "DescribeRecord") for _ in range(3)]
    call("dynamodb", "GetItem", ledger)
    second = [call("servicecatalog", "DescribeRecord") for _ in range(3)]
    assert first == [None, None, None]
    assert second == ["throttle", "throttle", None]
    assert (second_wait.runs, second_wait.seen, second_wait.applied) == (2, 6, 2)
    assert (on_owners.seen, on_owners.applied) == (2, 1)
    with pytest.raises(ValueError, match="a resource needs its service"):
        plan.add(Fault.throttle(), resource=owners)
    with pytest.raises(ValueError, match="counting must be"):
        plan.add(Fault.throttle(), counting="polls")  # type: ignore[arg-type]


@pytest.mark.parametrize("service", ["servicecatalog", "dynamodb", "lambda"])
def test_a_lost_connection_past_the_clients_attempts_is_a_botocore_error_and_nothing_happened(
    services: Services, service: str
) -> None:
    """What a reset or a dropped network path looks like to the caller: no ClientError to catch, but
    botocore's ConnectionClosedError (a BotoCoreError) once its retries are spent."""
    call = CALLS[service](services, Config(retries={"mode": "standard", "total_max_attempts": 2}))
    services.gate.faults.add(Fault.disconnect(), service=service, times=2)
    with pytest.raises(BotoCoreError) as raised:
        call()
    assert not isinstance(raised.value, ClientError)
    assert [(c.fault, c.outcome) for c in services.gate.calls()] == [("disconnect", "dropped")] * 2
    if service == "dynamodb":
        assert seen(services) == 0  # never carried out
