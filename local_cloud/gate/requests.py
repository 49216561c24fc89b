"""Each request to a local service in IAM's terms: its action, the resources it acts on, who signed it.

Sources:
- Signature Version 4 (IAM User Guide, "Elements of an AWS API request signature"): ``Authorization:
  AWS4-HMAC-SHA256 Credential=<access key id>/<date>/<region>/<service>/aws4_request, ...``.
- Service Catalog: ``servicecatalog:<Operation>``; the plan, record and provisioned product actions have
  no resource types in the Service Authorization Reference ("Actions, resources, and condition keys
  for AWS Service Catalog": only the condition keys ``servicecatalog:accountLevel`` and the like), so
  the request's resource is ``*`` and only a statement with ``Resource: "*"`` covers it.
- DynamoDB: ``dynamodb:<Operation>`` on ``arn:aws:dynamodb:<region>:<account>:table/<TableName>``
  (``.../index/<IndexName>`` for a query of an index); batch and transaction operations act on every
  table they name (Service Authorization Reference, "Amazon DynamoDB", resource types table/index).
  ``TableName`` may itself be the table's ARN (DynamoDB API reference, TableName: "name of the table
  ... You can also provide the Amazon Resource Name (ARN) of the table").
- Lambda: ``Invoke`` is authorized as ``lambda:InvokeFunction`` on the function's ARN *as invoked*
  (Lambda Developer Guide, "Resources and conditions for Lambda actions": the action identifier
  differs from the operation; a version or alias ARN is the function ARN with ``:<qualifier>``
  appended), and a permission on one of those ARNs does not cover another ("Versioning, aliases and
  resource policies": "the permission you grant apply only to the ARN used").
- CloudFormation: ``cloudformation:<Operation>`` on the stack's ARN,
  ``arn:aws:cloudformation:<region>:<account>:stack/<name>/<id>`` (Service Authorization Reference,
  "AWS CloudFormation": DescribeStackResource and DescribeStacks take the ``stack`` resource type); a
  stack named by its name alone is ``stack/<name>/*``.
- The ResponseURL is a pre-signed S3 PUT: its signer (CloudFormation) authorized it, not the caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ServiceRequest",
    "cloudformation_request",
    "dynamodb_request",
    "lambda_invoke_request",
    "response_url_request",
    "servicecatalog_request",
    "signer_of",
]

_CREDENTIAL = re.compile(r"Credential=(?P<key>[^/,\s]+)/[^/]*/(?P<region>[^/]*)/")


@dataclass(frozen=True)
class ServiceRequest:
    """One request as the gate sees it: enough to authorize it, fault it and record it."""

    service: str  # "servicecatalog", "dynamodb", "lambda", "s3"
    operation: str  # the API operation: "DescribeRecord", "UpdateItem", "Invoke", "PutObject"
    action: str  # the IAM action: "servicecatalog:DescribeRecord", "lambda:InvokeFunction"
    resources: tuple[str, ...] = ("*",)
    access_key_id: str | None = None  # from the SigV4 Authorization header; None when unsigned
    region: str | None = None  # the signature's credential scope (aws:RequestedRegion)
    client_port: int | None = None  # the caller's local TCP port on 127.0.0.1, to find its process
    presigned: bool = False  # authorized by the URL's signer: no role is consulted


def signer_of(authorization: str | None) -> tuple[str | None, str | None]:
    """``(access key id, region)`` of a SigV4 ``Authorization`` header; signatures are not checked."""
    match = _CREDENTIAL.search(authorization or "")
    if match is None:
        return None, None
    return match["key"], match["region"]


def _port(client_address: Any) -> int | None:
    if isinstance(client_address, tuple) and len(client_address) >= 2 and isinstance(client_address[1], int):
        return client_address[1]
    return None


def servicecatalog_request(operation: str, authorization: str | None, client_address: Any) -> ServiceRequest:
    key, region = signer_of(authorization)
    return ServiceRequest(
        "servicecatalog", operation, f"servicecatalog:{operation}", ("*",), key, region, _port(client_address)
    )


def dynamodb_request(
    operation: str,
    params: Mapping[str, Any],
    authorization: str | None,
    client_address: Any,
    *,
    region: str,
    account_id: str,
) -> ServiceRequest:
    key, signed_region = signer_of(authorization)
    prefix = f"arn:aws:dynamodb:{signed_region or region}:{account_id}:table/"
    resources = tuple(_table_arn(prefix, name) for name in _tables(params)) or ("*",)
    index = params.get("IndexName")
    if isinstance(index, str) and len(resources) == 1 and operation in ("Query", "Scan"):
        resources = (f"{resources[0]}/index/{index}",)
    return ServiceRequest(
        "dynamodb", operation, f"dynamodb:{operation}", resources, key, signed_region, _port(client_address)
    )


def _table_arn(prefix: str, name: str) -> str:
    return name if name.startswith("arn:") else prefix + name


def _tables(params: Mapping[str, Any]) -> list[str]:
    """Every table a request names: ``TableName``, ``RequestItems`` keys, ``TransactItems`` members."""
    names: list[str] = []
    if isinstance(params.get("TableName"), str):
        names.append(params["TableName"])
    items = params.get("RequestItems")
    if isinstance(items, dict):
        names.extend(str(name) for name in items)
    for item in params.get("TransactItems") or []:
        if isinstance(item, dict):
            for member in item.values():
                if isinstance(member, dict) and isinstance(member.get("TableName"), str):
                    names.append(member["TableName"])
    return list(dict.fromkeys(names))


def cloudformation_request(
    operation: str,
    params: Mapping[str, Any],
    authorization: str | None,
    client_address: Any,
    *,
    region: str,
    account_id: str,
) -> ServiceRequest:
    key, signed_region = signer_of(authorization)
    name = params.get("StackName")
    if isinstance(name, str) and name.startswith("arn:"):
        resources: tuple[str, ...] = (name,)
    elif isinstance(name, str) and name:
        resources = (f"arn:aws:cloudformation:{signed_region or region}:{account_id}:stack/{name}/*",)
    else:
        resources = ("*",)
    return ServiceRequest(
        "cloudformation", operation, f"cloudformation:{operation}", resources, key, signed_region, _port(client_address)
    )


def lambda_invoke_request(invoked_arn: str, authorization: str | None, client_address: Any) -> ServiceRequest:
    """``invoked_arn``: the function ARN with the qualifier appended when one was invoked."""
    key, region = signer_of(authorization)
    return ServiceRequest(
        "lambda", "Invoke", "lambda:InvokeFunction", (invoked_arn,), key, region, _port(client_address)
    )


def response_url_request(client_address: Any) -> ServiceRequest:
    return ServiceRequest("s3", "PutObject", "s3:PutObject", ("*",), client_port=_port(client_address), presigned=True)
