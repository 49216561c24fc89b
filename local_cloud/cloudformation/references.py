"""What ``Ref`` and ``Fn::GetAtt`` return for the resources of a stack the local cloud stands up.

One place answers it for every reader of the template (exports, environment variables, the
execution role's policies), so all of them see the same physical names.

Sources: the "Return values" section of each type in the CloudFormation resource reference:
- ``AWS::DynamoDB::Table``: Ref → table name; ``Arn`` → ``arn:aws:dynamodb:<region>:<account>:table/<name>``.
- ``AWS::Lambda::Function``: Ref → function name; ``Arn`` → ``arn:aws:lambda:<region>:<account>:function:<name>``.
- ``AWS::IAM::Role``: Ref → role name; ``Arn`` → ``arn:aws:iam::<account>:role<path><name>`` (Path defaults to ``/``).
- ``AWS::IAM::ManagedPolicy``: Ref and ``PolicyArn`` → ``arn:aws:iam::<account>:policy<path><name>``.
- ``AWS::Logs::LogGroup``: Ref → log group name; ``Arn`` → ``arn:aws:logs:<region>:<account>:log-group:<name>:*``.
A resource without an explicit name gets CloudFormation's generated ``<stack>-<LogicalId>-<RANDOM>``.
Parameters resolve to their defaults, except SSM parameter types, whose value only a deployment reads.
"""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local_cloud.cloudformation.template import UnresolvableError, evaluate_conditions, resolve_intrinsics

__all__ = ["StackReferences", "generated_name", "stack_references"]

_SUFFIX_ALPHABET = string.ascii_uppercase + string.digits
_SSM_PARAMETER_TYPE = "AWS::SSM::Parameter::Value<"


def generated_name(stack_name: str, logical_id: str, max_length: int) -> str:
    """CloudFormation's ``<stack>-<LogicalId>-<12 random>`` form, cut to the type's name limit."""
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(12))
    prefix = f"{stack_name}-{logical_id}"[: max_length - 13]
    return f"{prefix}-{suffix}"


@dataclass(frozen=True)
class _Type:
    name_property: str
    max_name: int
    # (region, account, name, properties) -> {attribute: value}; "Ref" is the Ref value
    values: Callable[[str, str, str, Mapping[str, Any]], dict[str, str]]


def _role_path(properties: Mapping[str, Any]) -> str:
    path = properties.get("Path", "/")
    return path if isinstance(path, str) else "/"


_TYPES: dict[str, _Type] = {
    "AWS::DynamoDB::Table": _Type(
        "TableName", 255, lambda r, a, n, p: {"Ref": n, "Arn": f"arn:aws:dynamodb:{r}:{a}:table/{n}"}
    ),
    "AWS::Lambda::Function": _Type(
        "FunctionName", 64, lambda r, a, n, p: {"Ref": n, "Arn": f"arn:aws:lambda:{r}:{a}:function:{n}"}
    ),
    "AWS::IAM::Role": _Type(
        "RoleName", 64, lambda r, a, n, p: {"Ref": n, "Arn": f"arn:aws:iam::{a}:role{_role_path(p)}{n}"}
    ),
    "AWS::IAM::ManagedPolicy": _Type(
        "ManagedPolicyName",
        128,
        lambda r, a, n, p: dict.fromkeys(("Ref", "PolicyArn"), f"arn:aws:iam::{a}:policy{_role_path(p)}{n}"),
    ),
    "AWS::SQS::Queue": _Type(
        "QueueName",
        80,
        lambda r, a, n, p: {"Ref": f"https://sqs.{r}.amazonaws.com/{a}/{n}", "Arn": f"arn:aws:sqs:{r}:{a}:{n}"},
    ),
    "AWS::Logs::LogGroup": _Type(
        "LogGroupName", 512, lambda r, a, n, p: {"Ref": n, "Arn": f"arn:aws:logs:{r}:{a}:log-group:{n}:*"}
    ),
}


@dataclass(frozen=True)
class StackReferences:
    """``refs`` (parameters, pseudo parameters, logical ids) and ``attributes`` (``"<Id>.<Attr>"``)."""

    refs: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)
    conditions: Mapping[str, bool] = field(default_factory=dict)

    def resolve(self, value: Any, imports: Mapping[str, str] | None = None) -> Any:
        """``resolve_intrinsics`` with this stack's values; raises UnresolvableError for anything else."""
        return resolve_intrinsics(
            value, refs=self.refs, attributes=self.attributes, imports=imports, conditions=self.conditions
        )


def stack_references(
    template: Mapping[str, Any],
    *,
    stack_name: str,
    region: str,
    account_id: str,
    physical_names: Mapping[str, str] | None = None,
) -> StackReferences:
    """The values a deployment of ``template`` as ``stack_name`` would give its Refs and attributes.

    ``physical_names`` gives the names of resources that exist locally (tables, the function);
    the rest take their explicit name property or a generated one. Types not listed in this
    module's sources have no values: a Ref to them stays unresolvable.
    """
    refs: dict[str, Any] = {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack_name,
        "AWS::StackId": (
            f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/"
            f"{uuid.uuid5(uuid.NAMESPACE_URL, f'{account_id}/{region}/{stack_name}')}"
        ),
    }
    for name, parameter in template.get("Parameters", {}).items():
        if not isinstance(parameter, dict) or "Default" not in parameter:
            continue
        if str(parameter.get("Type", "")).startswith(_SSM_PARAMETER_TYPE):
            continue
        default = str(parameter["Default"])
        # A list parameter's Ref is a list (CloudFormation splits its value at the commas).
        refs[name] = default.split(",") if str(parameter.get("Type", "")).startswith("CommaDelimitedList") else default
    attributes: dict[str, str] = {}
    known = dict(physical_names or {})
    for logical_id, resource in template.get("Resources", {}).items():
        kind = _TYPES.get(resource.get("Type", "")) if isinstance(resource, dict) else None
        if kind is None:
            continue
        properties = resource.get("Properties", {})
        name = known.get(logical_id)
        if name is None and kind.name_property in properties:
            name = _explicit_name(properties[kind.name_property], refs)
            if name is None:
                continue  # a name only a deployment knows: its Ref stays unresolvable
        if name is None:
            name = generated_name(stack_name, logical_id, kind.max_name)
        for attribute, value in kind.values(region, account_id, name, properties).items():
            if attribute == "Ref":
                refs[logical_id] = value
            else:
                attributes[f"{logical_id}.{attribute}"] = value
    try:
        conditions = evaluate_conditions(template, refs)
    except UnresolvableError:
        conditions = {}  # left unevaluated: an Fn::If on them stays unresolvable
    return StackReferences(refs=refs, attributes=attributes, conditions=conditions)


def _explicit_name(value: Any, refs: Mapping[str, str]) -> str | None:
    """A name property that is a literal, or resolves from parameters and pseudo parameters alone."""
    try:
        resolved = resolve_intrinsics(value, refs=refs)
    except UnresolvableError:
        return None
    return resolved if isinstance(resolved, str) else None
