"""checkov skips the provider carries, each next to its resource with the reason (docs/operations.md#scanners).

checkov reads `Metadata.checkov.skip` of a resource (`[{id, comment}]`). A skip is attached only
where the finding is a decision: a default an option turns off (then the skip goes with the
default, and setting the option makes the check pass without it), or a table that has nothing to
restore. Nothing is skipped globally.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource
from constructs import IConstruct

CHECKOV_METADATA_KEY = "checkov"

# check id -> why the provider's default is right for it (and which option changes it).
CHECKOV_SKIPS: dict[str, str] = {
    "CKV_AWS_119": (
        "Default AWS-owned key (no cost, nothing to manage). Organisations that require a customer-managed key "
        "pass encryption_key= (packaged template: KmsKeyArn), which this check then finds."
    ),
    "CKV_AWS_158": (
        "Default AWS-owned key for the log group (the function never logs events, properties or the ResponseURL). "
        "encryption_key= (KmsKeyArn) encrypts it with a customer-managed key."
    ),
    "CKV_AWS_173": (
        "Default AWS-owned key for the environment, which holds only table names and logging settings. "
        "encryption_key= (KmsKeyArn) encrypts it with a customer-managed key."
    ),
    "CKV_AWS_27": (
        "The dead-letter queue has SQS-managed server-side encryption (SqsManagedSseEnabled, an AWS-owned key, "
        "no cost); this check recognises only KmsMasterKeyId. encryption_key= (KmsKeyArn) sets one."
    ),
    "CKV_AWS_117": (
        "The function only calls AWS APIs (Service Catalog, DynamoDB, Lambda, X-Ray) and the ResponseURL's S3; "
        "it reaches no private resource. vpc= (SubnetIds/SecurityGroupIds) runs it in a VPC."
    ),
    "CKV_AWS_115": (
        "No reservation by default: a reservation takes concurrency from every other function in the account. "
        "reserved_concurrent_executions= (ReservedConcurrentExecutions) sets one."
    ),
    "CKV_AWS_28": (
        "The requests table holds in-flight request bookkeeping that expires after 2 hours; there is no earlier "
        "state worth restoring. The owners table has point-in-time recovery."
    ),
}


def skip_checkov(construct: IConstruct, check_id: str) -> None:
    """Attach the documented skip of `check_id` to `construct`'s CloudFormation resource."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to carry a checkov skip")
    existing: dict[str, Any] = resource.get_metadata(CHECKOV_METADATA_KEY) or {}
    skips = [s for s in existing.get("skip", []) if s["id"] != check_id]
    skips.append({"id": check_id, "comment": CHECKOV_SKIPS[check_id]})
    resource.add_metadata(CHECKOV_METADATA_KEY, {"skip": skips})
