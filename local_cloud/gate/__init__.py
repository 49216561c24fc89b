"""The per-request layer every local service consults: IAM for the function's role, planned faults,
and the log of every call the function makes.

Typical use through ``LocalCloud``::

    cloud.faults.add(Fault.throttle(), service="dynamodb", operation="UpdateItem", at=1, times=10)
    ...
    [(c.service, c.operation, c.outcome) for c in cloud.calls()]
"""

from local_cloud.gate.faults import FAULT_KINDS, ErrorAnswer, Fault, FaultKind, FaultPlan, FaultRule, fault_answer
from local_cloud.gate.gate import (
    Admission,
    CallRecord,
    KillCaller,
    Principal,
    RequestGate,
    access_denied,
    role_credentials,
)
from local_cloud.gate.requests import (
    ServiceRequest,
    cloudformation_request,
    dynamodb_request,
    lambda_invoke_request,
    response_url_request,
    servicecatalog_request,
    signer_of,
)

__all__ = [
    "FAULT_KINDS",
    "Admission",
    "CallRecord",
    "ErrorAnswer",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "KillCaller",
    "Principal",
    "RequestGate",
    "ServiceRequest",
    "access_denied",
    "cloudformation_request",
    "dynamodb_request",
    "fault_answer",
    "lambda_invoke_request",
    "response_url_request",
    "role_credentials",
    "servicecatalog_request",
    "signer_of",
]
