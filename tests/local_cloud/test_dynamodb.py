"""LocalDynamoDB (moto's server) as the request ledger uses it, and LocalCloud wiring it to the function."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_cloud.cloud import PROVIDER_HANDLER, LocalCloud
from local_cloud.dynamodb import LocalDynamoDB

BASIC = Path(__file__).parent / "fixtures" / "lambda_runtime" / "basic"
LEDGER_TABLE = {
    "Type": "AWS::DynamoDB::Table",
    "Properties": {
        "KeySchema": [{"AttributeName": "RequestKey", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "RequestKey", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
        "TimeToLiveSpecification": {"AttributeName": "ExpiresAt", "Enabled": True},
    },
    "UpdateReplacePolicy": "Delete",
    "DeletionPolicy": "Delete",
}
# The ledger's claim: only the first sender, or one whose lease has run out, may answer.
CLAIM = {
    "UpdateExpression": "SET #a = :sending, #u = :until, #f = if_not_exists(#f, :first)",
    "ConditionExpression": "attribute_not_exists(#a) OR (#a = :sending AND #u < :now)",
    "ExpressionAttributeNames": {"#a": "Answer", "#u": "SendingUntil", "#f": "FirstSeen"},
    "ReturnValues": "ALL_NEW",
}


@pytest.fixture
def ddb() -> Iterator[LocalDynamoDB]:
    with LocalDynamoDB() as local:
        yield local


@pytest.fixture
def ledger(ddb: LocalDynamoDB) -> tuple[Any, str]:
    tables = ddb.create_tables_from_template({"Resources": {"Requests": LEDGER_TABLE}}, "Stack")
    return ddb.client(), tables["Requests"]


def _claim(client: Any, table: str, key: str, now: int, first: str) -> dict[str, Any]:
    return client.update_item(
        TableName=table,
        Key={"RequestKey": {"S": key}},
        ExpressionAttributeValues={
            ":sending": {"S": "SENDING"},
            ":until": {"N": str(now + 30)},
            ":now": {"N": str(now)},
            ":first": {"S": first},
        },
        **CLAIM,
    )


def test_starts_quickly_and_stop_deletes_its_tables() -> None:
    started = time.monotonic()
    with LocalDynamoDB() as local:
        startup = time.monotonic() - started
        name = local.create_tables_from_template({"Resources": {"T": LEDGER_TABLE}})["T"]
        assert name in local.client().list_tables()["TableNames"]
    assert startup < 3.0
    with LocalDynamoDB() as other:  # moto's state is per process: a later server would still see it
        assert name not in other.client().list_tables()["TableNames"]


def test_tables_from_template_keep_their_definition(ddb: LocalDynamoDB) -> None:
    provisioned = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": "explicit-name",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
            ],
            "ProvisionedThroughput": {"ReadCapacityUnits": "2", "WriteCapacityUnits": 3},
        },
    }
    template = {"Resources": {"Requests": LEDGER_TABLE, "Other": provisioned, "Topic": {"Type": "AWS::SNS::Topic"}}}

    tables = ddb.create_tables_from_template(template, "MyStack")

    assert set(tables) == {"Requests", "Other"}
    assert tables["Other"] == "explicit-name"
    assert (
        tables["Requests"].startswith("MyStack-Requests-") and len(tables["Requests"]) == len("MyStack-Requests-") + 12
    )
    client = ddb.client()
    requests = client.describe_table(TableName=tables["Requests"])["Table"]
    assert requests["KeySchema"] == [{"AttributeName": "RequestKey", "KeyType": "HASH"}]
    assert requests["AttributeDefinitions"] == [{"AttributeName": "RequestKey", "AttributeType": "S"}]
    assert requests["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = client.describe_time_to_live(TableName=tables["Requests"])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ExpiresAt"}
    other = client.describe_table(TableName="explicit-name")["Table"]
    assert [k["KeyType"] for k in other["KeySchema"]] == ["HASH", "RANGE"]
    assert other["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
    assert ddb.table_names == [tables["Requests"], "explicit-name"]


def test_intrinsics_in_a_table_definition_are_refused(ddb: LocalDynamoDB) -> None:
    table = {"Type": "AWS::DynamoDB::Table", "Properties": {**LEDGER_TABLE["Properties"], "TableName": {"Ref": "X"}}}

    with pytest.raises(ValueError, match="TableName must be a literal"):
        ddb.create_tables_from_template({"Resources": {"T": table}})


def test_conditional_claim_first_wins_and_if_not_exists_keeps_the_first_value(ledger: tuple[Any, str]) -> None:
    client, table = ledger

    first = _claim(client, table, "req-1", now=1000, first="one")
    with pytest.raises(client.exceptions.ConditionalCheckFailedException) as caught:
        _claim(client, table, "req-1", now=1010, first="two")  # lease still running
    taken_over = _claim(client, table, "req-1", now=1031, first="three")  # lease expired

    assert first["Attributes"] == {
        "RequestKey": {"S": "req-1"},
        "Answer": {"S": "SENDING"},
        "SendingUntil": {"N": "1030"},
        "FirstSeen": {"S": "one"},
    }
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert taken_over["Attributes"]["FirstSeen"] == {"S": "one"}
    assert taken_over["Attributes"]["SendingUntil"] == {"N": "1061"}
    item = client.get_item(TableName=table, Key={"RequestKey": {"S": "req-1"}}, ConsistentRead=True)["Item"]
    assert item == taken_over["Attributes"]


def test_answered_request_is_never_claimed_again_and_remove_releases(ledger: tuple[Any, str]) -> None:
    client, table = ledger
    key = {"RequestKey": {"S": "req-2"}}
    _claim(client, table, "req-2", now=1000, first="one")
    client.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #a = :state",
        ConditionExpression="#a = :sending AND NOT (#a <> :sending)",
        ExpressionAttributeNames={"#a": "Answer"},
        ExpressionAttributeValues={":state": {"S": "SUCCESS"}, ":sending": {"S": "SENDING"}},
    )

    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        _claim(client, table, "req-2", now=5000, first="late")
    client.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="REMOVE #a, #u",
        ExpressionAttributeNames={"#a": "Answer", "#u": "SendingUntil"},
    )
    again = _claim(client, table, "req-2", now=6000, first="later")

    assert again["Attributes"]["Answer"] == {"S": "SENDING"}
    assert again["Attributes"]["FirstSeen"] == {"S": "one"}


def _race(barrier: threading.Barrier, winners: list[str], client: Any, table: str, key: str, name: str) -> None:
    barrier.wait()
    try:
        _claim(client, table, key, now=1000, first=name)
        winners.append(name)
    except client.exceptions.ConditionalCheckFailedException:
        pass


def test_racing_duplicates_see_exactly_one_winner(ddb: LocalDynamoDB, ledger: tuple[Any, str]) -> None:
    _, table = ledger
    clients = [ddb.client() for _ in range(12)]
    for round_number in range(5):
        key = f"race-{round_number}"
        winners: list[str] = []
        barrier = threading.Barrier(len(clients))
        threads = [
            threading.Thread(target=_race, args=(barrier, winners, c, table, key, str(i)))
            for i, c in enumerate(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(winners) == 1


# -- LocalCloud ------------------------------------------------------------------------------------

LEDGER_HANDLER = '''
import json, os, boto3

def lambda_handler(event, context):
    """Claim the event's key in the ledger table, then maybe continue asynchronously."""
    table = os.environ["REQUESTS_TABLE_NAME"]
    item = boto3.client("dynamodb").update_item(
        TableName=table,
        Key={"RequestKey": {"S": event["key"]}},
        UpdateExpression="SET #n = if_not_exists(#n, :zero) + :one",
        ExpressionAttributeNames={"#n": "Seen"},
        ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    if event.get("continue"):
        boto3.client("lambda").invoke(
            FunctionName=context.invoked_function_arn,
            InvocationType="Event",
            Payload=json.dumps({"key": event["key"]}).encode(),
        )
    return {"table": table, "seen": item["Seen"]["N"], "other": os.environ.get("OTHER_REF")}
'''


def _fake_cdk_out(root: Path) -> Path:
    cdk_out = root / "cdk.out"
    asset = cdk_out / "asset.feed"
    shutil.copytree(BASIC, asset)
    (asset / "sc_plan_provider").mkdir()
    (asset / "sc_plan_provider" / "__init__.py").write_text("")
    (asset / "sc_plan_provider" / "handler.py").write_text(LEDGER_HANDLER)
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Handler": PROVIDER_HANDLER,
            "Role": {"Fn::GetAtt": ["ProviderRole", "Arn"]},
            "Runtime": "python3.11",
            "Timeout": 30,
            "Environment": {
                "Variables": {
                    "REQUESTS_TABLE_NAME": {"Ref": "RequestsTableB2F1"},
                    "OTHER_REF": {"Ref": "Topic"},
                }
            },
        },
        "Metadata": {"aws:asset:path": "asset.feed"},
    }
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Policies": [
                {
                    "PolicyName": "Ledger",
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "dynamodb:UpdateItem",
                                "Resource": {"Fn::GetAtt": ["RequestsTableB2F1", "Arn"]},
                            },
                            {
                                "Effect": "Allow",
                                "Action": "lambda:InvokeFunction",
                                "Resource": {
                                    "Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}"
                                    ":function:${ProviderFunction}"
                                },
                            },
                        ]
                    },
                }
            ]
        },
    }
    template = {
        "Resources": {
            "ProviderFunction": function,
            "ProviderRole": role,
            "RequestsTableB2F1": LEDGER_TABLE,
            "Topic": {"Type": "AWS::SNS::Topic"},
        }
    }
    (cdk_out / "Ledger.template.json").write_text(json.dumps(template))
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Ledger": {
                "type": "aws:cloudformation:stack",
                "environment": "aws://111122223333/eu-west-1",
                "properties": {"templateFile": "Ledger.template.json", "stackName": "ledger-stack"},
            }
        },
    }
    (cdk_out / "manifest.json").write_text(json.dumps(manifest))
    return cdk_out


def test_local_cloud_creates_the_stack_tables_and_the_function_reaches_both_services(tmp_path: Path) -> None:
    with LocalCloud(_fake_cdk_out(tmp_path), retry_delays=(0.1, 0.1)) as cloud:
        table = cloud.tables["RequestsTableB2F1"]
        described = cloud.dynamodb.client().describe_table(TableName=table)["Table"]

        result = cloud.function.invoke({"key": "k1", "continue": True})
        cloud.lambda_api.wait_for_invocations(1, timeout=30)
        cloud.function.wait_for_async(30)
        item = cloud.dynamodb.client().get_item(TableName=table, Key={"RequestKey": {"S": "k1"}})["Item"]

    assert set(cloud.tables) == {"RequestsTableB2F1"}
    assert table.startswith("ledger-stack-RequestsTableB2F1-")
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert result.ok, result.error
    assert result.payload == {"table": table, "seen": "1", "other": '<unresolved {"Ref":"Topic"}>'}
    (received,) = cloud.lambda_api.invocations
    assert (received.function_name, received.invocation_type, received.status) == (
        "arn:aws:lambda:eu-west-1:111122223333:function:ledger-stack-ProviderFunction",
        "Event",
        202,
    )
    assert item["Seen"] == {"N": "2"}  # the continuation ran and found the first write
    # Both calls of both invocations passed the role's policies (Fn::GetAtt and Fn::Sub resolved locally).
    assert [(c.service, c.operation, c.outcome) for c in cloud.calls()] == [
        ("dynamodb", "UpdateItem", "ok"),
        ("lambda", "Invoke", "ok"),
        ("dynamodb", "UpdateItem", "ok"),
    ]
