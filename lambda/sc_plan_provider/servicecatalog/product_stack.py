"""The CloudFormation stack behind a provisioned product: where its current parameters are.

Service Catalog's API tells a product's version and status but not its parameters; a product of a
CloudFormation template runs as a stack (named `SC-<account>-<provisioned product id>`) whose ARN
is among its provisioning record's outputs as `CloudformationStackARN` (docs/drift.md#where-each-value-comes-from).
DescribeStacks answers with the parameters as last applied, and NoEcho values as asterisks (the
User Guide shows five, `*****`; four have been seen: any run of asterisks is taken as masked). Read
by the drift check only, which never prints a masked value's declared counterpart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

__all__ = ["MASKED", "STACK_ARN_OUTPUT", "StackUnreadableError", "is_masked", "stack_parameters"]

STACK_ARN_OUTPUT = "CloudformationStackARN"
MASKED = "****"  # what the drift check prints for a value it does not show


def is_masked(value: str) -> bool:
    """A NoEcho parameter's value as DescribeStacks shows it: only asterisks."""
    return bool(value) and value.strip("*") == ""


class StackUnreadableError(Exception):
    """DescribeStacks failed for another reason than the stack being gone (access, throttling)."""


def stack_parameters(cloudformation: CloudFormationClient, stack_arn: str) -> dict[str, str] | None:
    """The stack's parameters (NoEcho values masked); None when the stack no longer exists."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_arn)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error.response.get("Error", {}).get("Message", "")):
            return None
        raise StackUnreadableError(_one_line(error)) from error
    except BotoCoreError as error:
        raise StackUnreadableError(_one_line(error)) from error
    if not stacks or stacks[0].get("StackStatus") == "DELETE_COMPLETE":
        return None
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stacks[0].get("Parameters", [])}


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
