"""The policy engine decides as IAM does for identity-based policies, and the execution role is read
from a template exactly or not at all."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from local_cloud.cloudformation.references import stack_references
from local_cloud.iam.policy import PolicyError, PolicySet, action_matches, resource_matches
from local_cloud.iam.role import RoleError, read_execution_role

ARN = "arn:aws:lambda:us-east-1:123456789012:function:provider"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/Requests"


def policies(*statements: dict[str, Any]) -> PolicySet:
    return PolicySet.from_documents([("test", {"Version": "2012-10-17", "Statement": list(statements)})])


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def decision(policy: PolicySet, action: str, resource: str = "*", **keys: str) -> str:
    return policy.evaluate(action, [resource], {k.replace("__", ":"): v for k, v in keys.items()}).decision


# -- matching ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "action", "matches"),
    [
        ("dynamodb:GetItem", "dynamodb:GetItem", True),
        ("dynamodb:GetItem", "DynamoDB:getitem", True),  # prefix and name are case insensitive
        ("dynamodb:Get*", "dynamodb:GetItem", True),
        ("dynamodb:*Item", "dynamodb:UpdateItem", True),
        ("dynamodb:?etItem", "dynamodb:GetItem", True),
        ("dynamodb:?etItem", "dynamodb:BatchGetItem", False),
        ("dynamodb:GetItem", "dynamodb:GetItems", False),
        ("*", "servicecatalog:DescribeRecord", True),
        ("servicecatalog:Describe*", "servicecatalog:ExecuteProvisionedProductPlan", False),
    ],
)
def test_actions_match_with_wildcards_and_without_case(pattern: str, action: str, matches: bool) -> None:
    assert action_matches(pattern, action) is matches


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        (TABLE, TABLE, True),
        (TABLE.lower(), TABLE, False),  # resources are case sensitive
        ("arn:aws:dynamodb:*:*:table/Requests", TABLE, True),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/Req*", TABLE, True),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/Request?", TABLE, True),
        ("arn:aws:dynamodb:us-east-1:123456789012:table/Request?", TABLE + "s", False),
        ("*", TABLE, True),
        # a qualified Lambda ARN is another resource than the unqualified one
        (ARN, f"{ARN}:live", False),
        (ARN, f"{ARN}:1", False),
        (f"{ARN}:live", ARN, False),
        (f"{ARN}:*", f"{ARN}:live", True),
        (f"{ARN}:*", ARN, False),
        (f"{ARN}*", f"{ARN}:live", True),  # a * ending a segment may span the colon
        ("arn:aws:lambda:us-east-1:123456789012:function:prov*der", f"{ARN}:live", False),  # inside one, it may not
        ("arn:aws:lambda:us-east-1:123456789012:function:prov*der", ARN, True),
    ],
)
def test_resources_match_case_sensitively_segment_by_segment(pattern: str, resource: str, matches: bool) -> None:
    assert resource_matches(pattern, resource) is matches


# -- evaluation ----------------------------------------------------------------------------------


def test_nothing_allowed_is_an_implicit_deny_and_one_allow_allows() -> None:
    policy = policies(allow("servicecatalog:DescribeRecord"))
    assert decision(policy, "servicecatalog:DescribeRecord") == "allow"
    assert decision(policy, "servicecatalog:DescribeProvisionedProduct") == "implicit_deny"
    assert decision(PolicySet(), "servicecatalog:DescribeRecord") == "implicit_deny"


def test_an_explicit_deny_wins_over_any_allow_in_any_policy() -> None:
    policy = PolicySet.from_documents(
        [
            ("broad", {"Statement": allow("dynamodb:*", "*")}),  # a single statement, not a list
            ("narrow", {"Statement": [{"Effect": "Deny", "Action": "dynamodb:UpdateItem", "Resource": TABLE}]}),
        ]
    )
    evaluation = policy.evaluate("dynamodb:UpdateItem", [TABLE])
    assert evaluation.decision == "explicit_deny"
    assert evaluation.statement is not None and evaluation.statement.source == "narrow statement 0"
    assert decision(policy, "dynamodb:GetItem", TABLE) == "allow"
    assert decision(policy, "dynamodb:UpdateItem", TABLE.replace("Requests", "Owners")) == "allow"


def test_a_batch_is_allowed_only_if_every_resource_is() -> None:
    policy = policies(allow("dynamodb:BatchGetItem", TABLE))
    owners = TABLE.replace("Requests", "Owners")
    assert policy.evaluate("dynamodb:BatchGetItem", [TABLE]).allowed
    refused = policy.evaluate("dynamodb:BatchGetItem", [TABLE, owners])
    assert (refused.decision, refused.resource) == ("implicit_deny", owners)


def test_not_action_and_not_resource_apply_to_everything_else() -> None:
    policy = policies(
        {"Effect": "Allow", "NotAction": "dynamodb:DeleteTable", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:*", "NotResource": [TABLE]},
    )
    assert decision(policy, "dynamodb:GetItem", TABLE) == "allow"
    assert decision(policy, "dynamodb:DeleteTable", TABLE) == "implicit_deny"
    assert decision(policy, "dynamodb:GetItem", TABLE.replace("Requests", "Owners")) == "explicit_deny"
    assert decision(policy, "lambda:InvokeFunction", ARN) == "allow"


def test_an_unqualified_function_arn_does_not_cover_its_versions_or_aliases() -> None:
    policy = policies(allow("lambda:InvokeFunction", ARN))
    assert decision(policy, "lambda:InvokeFunction", ARN) == "allow"
    for qualified in (f"{ARN}:live", f"{ARN}:1", f"{ARN}:$LATEST"):
        assert decision(policy, "lambda:InvokeFunction", qualified) == "implicit_deny"
    both = policies(allow("lambda:InvokeFunction", [ARN, f"{ARN}:*"]))
    assert decision(both, "lambda:InvokeFunction", f"{ARN}:live") == "allow"


def test_understood_conditions_are_evaluated() -> None:
    policy = policies(
        allow(
            "dynamodb:GetItem", TABLE, Condition={"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}
        ),
        allow("dynamodb:PutItem", TABLE, Condition={"StringNotEquals": {"AWS:RequestedRegion": "us-east-1"}}),
        allow("lambda:InvokeFunction", "*", Condition={"ArnLike": {"lambda:SourceFunctionArn": f"{ARN}*"}}),
    )
    assert decision(policy, "dynamodb:GetItem", TABLE, aws__RequestedRegion="us-east-1") == "allow"
    assert decision(policy, "dynamodb:GetItem", TABLE, aws__RequestedRegion="us-west-2") == "implicit_deny"
    assert decision(policy, "dynamodb:PutItem", TABLE, aws__RequestedRegion="us-east-1") == "implicit_deny"
    assert decision(policy, "dynamodb:PutItem", TABLE, aws__RequestedRegion="eu-west-1") == "allow"
    assert decision(policy, "lambda:InvokeFunction", ARN, lambda__SourceFunctionArn=ARN) == "allow"
    assert decision(policy, "lambda:InvokeFunction", ARN, lambda__SourceFunctionArn=ARN + "x:1") == "allow"
    assert decision(policy, "lambda:InvokeFunction", ARN, lambda__SourceFunctionArn="arn:other") == "implicit_deny"


def test_a_condition_not_understood_never_grants(caplog: pytest.LogCaptureFixture) -> None:
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    tag = {"StringEquals": {"aws:PrincipalTag/team": "a"}}  # a key the engine does not supply
    allowing = policies(
        allow("dynamodb:GetItem", TABLE, Condition=mfa), allow("dynamodb:PutItem", TABLE, Condition=tag)
    )
    with caplog.at_level(logging.WARNING):
        assert decision(allowing, "dynamodb:GetItem", TABLE) == "implicit_deny"
        assert decision(allowing, "dynamodb:PutItem", TABLE) == "implicit_deny"
    assert "not understood locally; the statement does not apply" in caplog.text
    denying = policies(
        allow("dynamodb:*", TABLE), {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*", "Condition": mfa}
    )
    with caplog.at_level(logging.WARNING):
        assert decision(denying, "dynamodb:GetItem", TABLE) == "explicit_deny"  # fails closed
    assert "applies (fail closed)" in caplog.text


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ({"Effect": "Permit", "Action": "s3:*", "Resource": "*"}, "Effect must be Allow or Deny"),
        ({"Effect": "Allow", "Resource": "*"}, "exactly one of Action or NotAction"),
        ({"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"}, "exactly one of Action"),
        ({"Effect": "Allow", "Action": "s3:*"}, "exactly one of Resource or NotResource"),
        ({"Effect": "Allow", "Action": [], "Resource": "*"}, "non-empty string or list"),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": "*"}, "no Principal"),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}/*"}, "policy variable"),
        ({"Sid": "Named", "Effect": "Deny", "Action": "s3:*", "Resource": ["*", 3]}, r"test statement 0 \(Sid Named\)"),
    ],
)
def test_policies_iam_would_refuse_are_refused(statement: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        policies(statement)


# -- the execution role from a template ----------------------------------------------------------

FUNCTION = "Fn"


def template(**extra_resources: Any) -> dict[str, Any]:
    """A function with a role; tables, policies and parameters as the tests need them."""
    return {
        "Parameters": {
            "Env": {"Type": "String", "Default": "prod"},
            "Version": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk/version"},
        },
        "Resources": {
            FUNCTION: {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"Path": "/service/"}},
            "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
            **extra_resources,
        },
    }


def read(tmpl: dict[str, Any]) -> Any:
    references = stack_references(
        tmpl,
        stack_name="stack",
        region="eu-west-1",
        account_id="111122223333",
        physical_names={"Table": "stack-Table-LOCAL", FUNCTION: "stack-Fn"},
    )
    return read_execution_role(tmpl, FUNCTION, references, account_id="111122223333")


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_every_kind_of_attached_policy_is_read_with_intrinsics_resolved() -> None:
    tmpl = template(
        Managed={
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"PolicyDocument": document(allow("dynamodb:Query", {"Fn::Sub": "${Table.Arn}/index/*"}))},
        },
        ManagedByRoles={
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": document(allow("dynamodb:Scan", "*"))},
        },
        Attached={
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "attached",
                "Roles": [{"Ref": "Role"}],
                "PolicyDocument": document(allow("lambda:InvokeFunction", {"Fn::GetAtt": [FUNCTION, "Arn"]})),
            },
        },
        RolePolicy={
            "Type": "AWS::IAM::RolePolicy",
            "Properties": {
                "RoleName": {"Ref": "Role"},
                "PolicyName": "rp",
                "PolicyDocument": document(
                    allow("dynamodb:GetItem", {"Fn::Join": ["", [{"Fn::GetAtt": ["Table", "Arn"]}]]})
                ),
            },
        },
        OtherRole={"Type": "AWS::IAM::Role", "Properties": {}},
        Elsewhere={
            "Type": "AWS::IAM::Policy",
            "Properties": {"Roles": [{"Ref": "OtherRole"}], "PolicyDocument": document(allow("*", "*"))},
        },
    )
    tmpl["Resources"]["Role"]["Properties"].update(
        {
            "ManagedPolicyArns": [{"Ref": "Managed"}],
            "Policies": [
                {"PolicyName": "inline", "PolicyDocument": document(allow("servicecatalog:Describe*", "*"))},
                {
                    "PolicyName": "by-env",
                    "PolicyDocument": document(
                        allow("ssm:GetParameter", {"Fn::Sub": "arn:aws:ssm:${AWS::Region}:${AWS::AccountId}:${Env}"})
                    ),
                },
            ],
        }
    )
    role = read(tmpl)
    assert role.name.startswith("stack-Role-")
    assert role.arn == f"arn:aws:iam::111122223333:role/service/{role.name}"
    assert role.session_arn("stack-Fn") == f"arn:aws:sts::111122223333:assumed-role/{role.name}/stack-Fn"
    table = "arn:aws:dynamodb:eu-west-1:111122223333:table/stack-Table-LOCAL"
    function = "arn:aws:lambda:eu-west-1:111122223333:function:stack-Fn"
    assert [s.source for s in role.policies.statements] == [
        "Role inline policy inline statement 0",
        "Role inline policy by-env statement 0",
        "Managed statement 0",
        "ManagedByRoles statement 0",
        "Attached (attached) statement 0",
        "RolePolicy (rp) statement 0",
    ]
    allowed = role.policies.evaluate
    assert allowed("dynamodb:Query", [f"{table}/index/byOwner"]).allowed
    assert allowed("dynamodb:GetItem", [table]).allowed
    assert allowed("lambda:InvokeFunction", [function]).allowed
    assert allowed("ssm:GetParameter", ["arn:aws:ssm:eu-west-1:111122223333:prod"]).allowed
    assert allowed("servicecatalog:DescribeRecord", ["*"]).allowed
    assert not allowed("servicecatalog:ExecuteProvisionedProductPlan", ["*"]).allowed  # OtherRole's "*" is not ours


def _with_inline(resource: Any) -> dict[str, Any]:
    tmpl = template()
    tmpl["Resources"]["Role"]["Properties"]["Policies"] = [
        {"PolicyName": "p", "PolicyDocument": document(allow("s3:GetObject", "*"), allow("s3:PutObject", resource))}
    ]
    return tmpl


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (
            {"Fn::If": ["IsProd", "*", "arn:aws:s3:::b"]},
            r"Role inline policy p statement 1: condition 'IsProd' has no local value",
        ),
        ({"Fn::GetAtt": ["Table", "StreamArn"]}, r"statement 1: Fn::GetAtt 'Table.StreamArn' has no local value"),
        ({"Ref": "Version"}, r"statement 1: Ref 'Version' has no local value"),  # an SSM parameter's value
        ({"Fn::Sub": "arn:aws:s3:::${Bucket}"}, r"statement 1: Fn::Sub 'Bucket' has no local value"),
    ],
)
def test_a_statement_that_cannot_be_resolved_fails_loudly_naming_it(resource: Any, message: str) -> None:
    with pytest.raises(RoleError, match=message):
        read(_with_inline(resource))


def test_what_the_template_does_not_say_exactly_is_refused() -> None:
    external = template()
    external["Resources"][FUNCTION]["Properties"]["Role"] = "arn:aws:iam::111122223333:role/made-elsewhere"
    with pytest.raises(RoleError, match="is not a role declared in this template"):
        read(external)

    aws_managed = template()
    aws_managed["Resources"]["Role"]["Properties"]["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ]
    with pytest.raises(RoleError, match=r"AWSLambdaBasicExecutionRole.*not declared in this template"):
        read(aws_managed)

    boundary = template()
    boundary["Resources"]["Role"]["Properties"]["PermissionsBoundary"] = "arn:aws:iam::111122223333:policy/b"
    with pytest.raises(RoleError, match="PermissionsBoundary"):
        read(boundary)

    conditional = template(
        Attached={
            "Type": "AWS::IAM::Policy",
            "Condition": "IsProd",
            "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": document(allow("s3:*"))},
        }
    )
    with pytest.raises(RoleError, match="the CloudFormation condition 'IsProd' has no local value"):
        read(conditional)


@pytest.mark.parametrize(("env", "granted"), [("prod", True), ("dev", False)])
def test_conditional_policies_are_read_as_cloudformation_would_create_them(env: str, granted: bool) -> None:
    """Conditions evaluated with the parameters' defaults, as the packaged template's options need:
    a conditional inline policy (Fn::If to AWS::NoValue), a conditional policy resource, and an
    Fn::If inside a statement."""
    tmpl = template(
        Attached={
            "Type": "AWS::IAM::Policy",
            "Condition": "IsProd",
            "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": document(allow("s3:GetObject"))},
        }
    )
    tmpl["Parameters"]["Env"]["Default"] = env
    tmpl["Conditions"] = {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
    }
    tmpl["Resources"]["Role"]["Properties"]["Policies"] = [
        {
            "Fn::If": [
                "IsProd",
                {"PolicyName": "p", "PolicyDocument": document(allow("s3:PutObject"))},
                {"Ref": "AWS::NoValue"},
            ]
        },
        {
            "PolicyName": "q",
            "PolicyDocument": document(allow({"Fn::If": ["IsDev", "sqs:SendMessage", "sqs:ReceiveMessage"]})),
        },
    ]
    policies = read(tmpl).policies
    assert policies.evaluate("s3:GetObject", ["*"]).allowed is granted
    assert policies.evaluate("s3:PutObject", ["*"]).allowed is granted
    assert policies.evaluate("sqs:SendMessage", ["*"]).allowed is not granted
    assert policies.evaluate("sqs:ReceiveMessage", ["*"]).allowed is granted
