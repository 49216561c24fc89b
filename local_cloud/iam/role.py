"""The function's execution role as the template grants it: every policy document attached to it.

A Lambda function acts with its execution role (``Role`` of ``AWS::Lambda::Function``, an ARN). The
role's permissions are the union of (IAM User Guide, "Policies and permissions in IAM"): its inline
``Policies``, the managed policies in ``ManagedPolicyArns``, and every ``AWS::IAM::Policy``,
``AWS::IAM::RolePolicy`` and ``AWS::IAM::ManagedPolicy`` resource that names the role in
``Roles``/``RoleName``. Intrinsics resolve with the stack's local values (``StackReferences``).

Anything this module cannot read exactly is an error at start, naming what it could not read: a
role not declared in the template, an AWS managed policy (its document is not here), a permissions
boundary, a CloudFormation condition on a policy, an intrinsic with no local value. Guessing would
make local runs grant what AWS would not, or deny what it would grant.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from local_cloud.cloudformation.references import StackReferences
from local_cloud.cloudformation.template import UnresolvableError
from local_cloud.iam.policy import PolicyError, PolicySet

__all__ = ["ExecutionRole", "RoleError", "read_execution_role", "role_logical_id"]

_ROLE = "AWS::IAM::Role"
_POLICY = "AWS::IAM::Policy"
_ROLE_POLICY = "AWS::IAM::RolePolicy"
_MANAGED_POLICY = "AWS::IAM::ManagedPolicy"


class RoleError(ValueError):
    """The execution role's permissions cannot be read exactly from the template."""


@dataclass(frozen=True)
class ExecutionRole:
    """The role a function runs as: its identity and what its policies allow."""

    logical_id: str
    name: str
    arn: str
    account_id: str
    policies: PolicySet

    def session_arn(self, session_name: str) -> str:
        """The assumed-role ARN a call is made as; Lambda names the session after the function."""
        return f"arn:aws:sts::{self.account_id}:assumed-role/{self.name}/{session_name}"


def read_execution_role(
    template: Mapping[str, Any],
    function_logical_id: str,
    references: StackReferences,
    *,
    account_id: str,
) -> ExecutionRole:
    """Find the function's role in ``template`` and read every policy attached to it."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    function = resources.get(function_logical_id)
    if not isinstance(function, dict):
        raise RoleError(f"{function_logical_id} is not a resource of the template")
    role_id = role_logical_id(template, function_logical_id)
    if role_id is None:
        raise RoleError(
            f"{function_logical_id}: Role {function.get('Properties', {}).get('Role')!r} is not a role declared "
            "in this template; its policies are unknown locally"
        )
    role = resources[role_id]
    role_props: Mapping[str, Any] = role.get("Properties", {})
    if "PermissionsBoundary" in role_props:
        raise RoleError(f"{role_id}: a PermissionsBoundary is not evaluated locally")
    name = references.refs.get(role_id)
    arn = references.attributes.get(f"{role_id}.Arn")
    if name is None or arn is None:
        raise RoleError(f"{role_id}: the role's name is only known to a deployment")
    documents = list(_documents(role_id, role_props, resources, references, name))
    try:
        policies = PolicySet.from_documents(documents)
    except PolicyError as error:
        raise RoleError(str(error)) from error
    return ExecutionRole(logical_id=role_id, name=name, arn=arn, account_id=account_id, policies=policies)


def role_logical_id(template: Mapping[str, Any], function_logical_id: str) -> str | None:
    """The role of ``Role: {"Fn::GetAtt": [<Role>, "Arn"]}`` when it is an ``AWS::IAM::Role`` of the template."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    value = resources.get(function_logical_id, {}).get("Properties", {}).get("Role")
    if not (isinstance(value, dict) and set(value) == {"Fn::GetAtt"}):
        return None
    argument = value["Fn::GetAtt"]
    parts = argument if isinstance(argument, list) else str(argument).split(".", 1)
    if len(parts) != 2 or parts[1] != "Arn" or not isinstance(parts[0], str):
        return None
    target = resources.get(parts[0])
    return parts[0] if isinstance(target, dict) and target.get("Type") == _ROLE else None


def _documents(
    role_id: str,
    role_props: Mapping[str, Any],
    resources: Mapping[str, Any],
    references: StackReferences,
    role_name: str,
) -> Iterator[tuple[str, Any]]:
    """``(source, resolved PolicyDocument)`` for every policy the role has."""
    for index, entry in enumerate(role_props.get("Policies", [])):
        # An inline policy may be conditional (Fn::If, AWS::NoValue): what CloudFormation would keep.
        inline = _conditional(f"{role_id} inline policy {index}", entry, references)
        if inline is None:
            continue
        label = f"{role_id} inline policy {inline.get('PolicyName', index)!s}"
        yield label, _resolved_document(label, inline.get("PolicyDocument"), references)
    managed_arns = {
        _resolve(f"{role_id} ManagedPolicyArns", arn, references) for arn in _list(role_props, "ManagedPolicyArns")
    }
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or resource.get("Type") not in (_POLICY, _ROLE_POLICY, _MANAGED_POLICY):
            continue
        props: Mapping[str, Any] = resource.get("Properties", {})
        policy_name = props.get("PolicyName") or props.get("ManagedPolicyName")
        label = logical_id if policy_name in (None, logical_id) else f"{logical_id} ({policy_name})"
        if resource["Type"] == _ROLE_POLICY:
            roles = [_resolve(f"{logical_id} RoleName", props.get("RoleName"), references)]
        else:
            roles = [_resolve(f"{logical_id} Roles", each, references) for each in _list(props, "Roles")]
        own_arn = references.refs.get(logical_id) if resource["Type"] == _MANAGED_POLICY else None
        attached = role_name in roles or (own_arn is not None and own_arn in managed_arns)
        if not attached:
            continue
        managed_arns.discard(own_arn or "")
        if "Condition" in resource:
            if resource["Condition"] not in references.conditions:
                raise RoleError(f"{label}: the CloudFormation condition {resource['Condition']!r} has no local value")
            if not references.conditions[resource["Condition"]]:
                continue  # CloudFormation does not create it
        yield label, _resolved_document(label, props.get("PolicyDocument"), references)
    if managed_arns:
        raise RoleError(
            f"{role_id}: managed policies {sorted(managed_arns)} are not declared in this template "
            "(AWS managed policies' documents are not known locally)"
        )


def _conditional(label: str, entry: Any, references: StackReferences) -> Any:
    """An entry as CloudFormation keeps it: the chosen branch of an ``Fn::If`` (unresolved inside,
    so its statements are read one by one), None for ``AWS::NoValue``."""
    while isinstance(entry, dict) and set(entry) == {"Fn::If"}:
        argument = entry["Fn::If"]
        if not (isinstance(argument, list) and len(argument) == 3) or argument[0] not in references.conditions:
            raise RoleError(f"{label}: Fn::If {argument!r} has no local value")
        entry = argument[1] if references.conditions[argument[0]] else argument[2]
    return None if entry == {"Ref": "AWS::NoValue"} else entry


def _list(props: Mapping[str, Any], key: str) -> list[Any]:
    value = props.get(key, [])
    if not isinstance(value, list):
        raise RoleError(f"{key} must be a list locally, got {value!r}")
    return value


def _resolve(label: str, value: Any, references: StackReferences) -> str:
    try:
        resolved = references.resolve(value)
    except UnresolvableError as error:
        raise RoleError(f"{label}: {error}") from error
    if not isinstance(resolved, str):
        raise RoleError(f"{label}: expected a string, got {resolved!r}")
    return resolved


def _resolved_document(label: str, document: Any, references: StackReferences) -> Any:
    """Resolve statement by statement, so an error names the statement that cannot be read."""
    if not isinstance(document, dict) or "Statement" not in document:
        raise RoleError(f"{label}: no PolicyDocument with a Statement")
    raw = document["Statement"]
    statements = raw if isinstance(raw, list) else [raw]
    resolved: list[Any] = []
    for index, statement in enumerate(statements):
        try:
            resolved.append(references.resolve(statement))
        except UnresolvableError as error:
            raise RoleError(f"{label} statement {index}: {error}") from error
    return {**document, "Statement": resolved}
