"""CloudFormation's side of the custom resource protocol, run locally.

Builds request events, serves pre-signed-looking HTTPS ResponseURLs, judges the answers as
CloudFormation does and sequences create/update/delete with their rollbacks and cleanups.
"""

from local_cloud.cloudformation.api_server import CloudFormationApiServer
from local_cloud.cloudformation.driver import (
    CloudFormationDriver,
    Interceptor,
    Invoke,
    ProgressHook,
    invent_physical_id,
)
from local_cloud.cloudformation.events import build_request_event, make_stack_id, stringify_properties
from local_cloud.cloudformation.outcome import Delivery, Outcome, ProgressEvent
from local_cloud.cloudformation.response_server import ReceivedPut, ResponseServer
from local_cloud.cloudformation.stack import CustomResource, HistoryRow, Stack, StackResult
from local_cloud.cloudformation.states import StackState, StackStates
from local_cloud.cloudformation.template import (
    UnresolvableError,
    custom_resources_in_assembly,
    custom_resources_in_template,
    resolve_intrinsics,
)
from local_cloud.cloudformation.validation import TOO_LONG_REASON, ResponseVerdict, validate_response_body

__all__ = [
    "TOO_LONG_REASON",
    "CloudFormationApiServer",
    "CloudFormationDriver",
    "CustomResource",
    "Delivery",
    "HistoryRow",
    "Interceptor",
    "Invoke",
    "Outcome",
    "ProgressEvent",
    "ProgressHook",
    "ReceivedPut",
    "ResponseServer",
    "ResponseVerdict",
    "Stack",
    "StackResult",
    "StackState",
    "StackStates",
    "UnresolvableError",
    "build_request_event",
    "custom_resources_in_assembly",
    "custom_resources_in_template",
    "invent_physical_id",
    "make_stack_id",
    "resolve_intrinsics",
    "stringify_properties",
    "validate_response_body",
]
