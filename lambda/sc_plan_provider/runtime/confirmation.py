"""Only CloudFormation's requests count: answers go only to CloudFormation, and a request is acted on
only when CloudFormation shows it in progress.

Anyone allowed to invoke a shared provider can hand it an event naming another stack's resource
and any ResponseURL (docs/facts.md#cloudformation-custom-resources). So, before anything is
changed or recorded:

- the ResponseURL must be CloudFormation's custom-resource response bucket for the function's
  Region and partition (`cloudformation-custom-resource-response-<region without dashes>` on S3,
  virtual-hosted or path style), or a loopback address (the local cloud; no real ResponseURL is
  one). Any other URL gets no answer and nothing is done: it is not CloudFormation that waits;
- the request must not be older than its ServiceTimeout, counted from when CloudFormation signed
  its ResponseURL (`X-Amz-Date`, where the URL carries it): CloudFormation has stopped waiting for
  an older one (Lambda's queue can hold an event for hours);
- CloudFormation must show the request in progress: `DescribeStackResource` for the event's stack
  and logical id shows a resource of the event's type `CREATE_IN_PROGRESS` for a Create,
  `UPDATE_IN_PROGRESS` for an Update, `DELETE_IN_PROGRESS` for a Delete of its current physical id
  (or the rollback statuses, `UPDATE_ROLLBACK_IN_PROGRESS`, `ROLLBACK_IN_PROGRESS`);
  the Delete of a physical id that is no longer the resource's (a replacement's cleanup) needs the
  stack in a `*_CLEANUP_IN_PROGRESS` status (`DescribeStacks`)
  (docs/facts.md#what-cloudformation-shows-while-it-waits). A read that does not show it yet is read
  again for a few seconds (the service is eventually consistent).

A refused request is answered FAILED (when its ResponseURL is CloudFormation's) saying why, so a
genuine request that met a lagging read fails clearly instead of leaving its stack waiting an hour.
"""

from __future__ import annotations

import calendar
import ipaddress
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from sc_plan_provider.core.telemetry import logger

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

    from sc_plan_provider.waiting.waiter import Sleep

RESPONSE_BUCKET_PREFIX = "cloudformation-custom-resource-response-"
# The DNS suffix of S3 in each partition (botocore's endpoints.json, `partitions[].dnsSuffix`).
DNS_SUFFIXES = {
    "aws": "amazonaws.com",
    "aws-cn": "amazonaws.com.cn",
    "aws-us-gov": "amazonaws.com",
    "aws-iso": "c2s.ic.gov",
    "aws-iso-b": "sc2s.sgov.gov",
    "aws-iso-e": "cloud.adc-e.uk",
    "aws-iso-f": "csp.hci.ic.gov",
    "aws-eusc": "amazonaws.eu",
}
# What CloudFormation shows of a resource while each request is out. Which status a rollback's
# Update or Delete shows is not documented (docs/facts.md#what-cloudformation-shows-while-it-waits):
# the model's rollback statuses are accepted beside the plain ones.
IN_PROGRESS = {
    "Create": ("CREATE_IN_PROGRESS",),
    "Update": ("UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"),
    "Delete": ("DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"),
}
CLEANUP_SUFFIX = "_CLEANUP_IN_PROGRESS"
SETTLED_SUFFIX = "_COMPLETE"
# A read that does not show the request in progress yet is read again after these waits (3.5 s).
CONFIRMATION_WAITS = (0.5, 1.0, 2.0)
DEFAULT_SERVICE_TIMEOUT_SECONDS = 3600.0
# How a read that got no answer is told (throttled, denied, no connection): CloudFormation may wait.
UNASKED = "it could not be asked"


def response_url_is_cloudformations(response_url: str, function_arn: str) -> bool:
    """HTTPS at the response bucket of the function's Region and partition, or at a loopback address."""
    parts = urlsplit(response_url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host:
        return False
    if host == "localhost" or _is_loopback(host):
        return True
    arn = function_arn.split(":")
    if len(arn) < 5 or not arn[3]:
        return False
    partition, region = arn[1], arn[3]
    suffix = DNS_SUFFIXES.get(partition, "amazonaws.com")
    bucket = f"{RESPONSE_BUCKET_PREFIX}{region.replace('-', '')}"
    s3_hosts = (f"s3.{suffix}", f"s3.{region}.{suffix}", f"s3-{region}.{suffix}")
    if host in {f"{bucket}.{s3}" for s3 in s3_hosts}:
        return True
    return host in s3_hosts and parts.path.startswith(f"/{bucket}/")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def signed_at(response_url: str) -> float | None:
    """When CloudFormation signed the ResponseURL (epoch seconds), from its SigV4 `X-Amz-Date`; None
    when the URL carries none (an older signature form)."""
    values = parse_qs(urlsplit(response_url).query).get("X-Amz-Date")
    if not values:
        return None
    try:
        return float(calendar.timegm(time.strptime(values[-1], "%Y%m%dT%H%M%SZ")))
    except ValueError:
        return None


def service_timeout_seconds(event: dict[str, Any]) -> float:
    """The request's ServiceTimeout (a string, as every property), CloudFormation's 3600 s when absent
    or unreadable: how long CloudFormation waits for the answer."""
    try:
        value = float((event.get("ResourceProperties") or {}).get("ServiceTimeout") or DEFAULT_SERVICE_TIMEOUT_SECONDS)
    except (TypeError, ValueError):
        return DEFAULT_SERVICE_TIMEOUT_SECONDS
    return value if 0 < value <= DEFAULT_SERVICE_TIMEOUT_SECONDS else DEFAULT_SERVICE_TIMEOUT_SECONDS


def unconfirmed_reason(
    event: dict[str, Any], client: CloudFormationClient, *, sleep: Sleep, stale: str | None = None
) -> str | None:
    """None when CloudFormation shows the request in progress; otherwise what it shows instead. A
    request older than its ServiceTimeout (`stale` says why it is refused) is confirmed only as the
    Delete of a product the stack no longer holds."""
    shown = ""
    for wait in (*CONFIRMATION_WAITS, None):
        shown = _shown(event, client, stale)
        if not shown:
            return None
        if wait is None or shown == stale:  # no later read makes an old request younger
            break
        logger.info("CloudFormation does not show the request in progress yet; reading again", extra={"wait": wait})
        sleep(wait)
    return shown


def still_waits(event: dict[str, Any], client: CloudFormationClient) -> bool:
    """Whether CloudFormation may still wait for the request's answer (one read): it shows the
    request in progress, or cannot be asked. False once the resource moved on: the answer arrived
    (or CloudFormation gave up), and sending it again would be a second answer."""
    shown = _shown(event, client, None)
    return not shown or shown.startswith(UNASKED)


def stack_rolling_back(stack_id: str, client: CloudFormationClient) -> bool:
    """Whether CloudFormation shows the stack rolling back (`*ROLLBACK_IN_PROGRESS`); True when it
    cannot be read: refusing a rollback's Update would leave the stack UPDATE_ROLLBACK_FAILED."""
    try:
        stacks = client.describe_stacks(StackName=stack_id)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        logger.warning("Could not read the stack's status; taking it as rolling back", extra={"error": str(error)})
        return True
    return bool(stacks) and stacks[0].get("StackStatus", "").endswith("ROLLBACK_IN_PROGRESS")


def _shown(event: dict[str, Any], client: CloudFormationClient, stale: str | None) -> str:
    """ "" when CloudFormation shows the request in progress, else what it shows (`stale` for a
    request older than its ServiceTimeout that is not the Delete of a product no longer held)."""
    stack_id = str(event.get("StackId") or "")
    logical_id = str(event.get("LogicalResourceId") or "")
    request_type = str(event.get("RequestType") or "")
    try:
        detail = client.describe_stack_resource(StackName=stack_id, LogicalResourceId=logical_id)["StackResourceDetail"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ValidationError":  # no such stack, or no such resource in it
            return f"no resource {logical_id} in stack {stack_id[:200]}"
        return f"{UNASKED} ({code}: {error.response.get('Error', {}).get('Message', '')[:200]})"
    except BotoCoreError as error:
        return f"{UNASKED} ({type(error).__name__})"
    status, resource_type = detail.get("ResourceStatus", ""), detail.get("ResourceType", "")
    where = f"resource {logical_id} ({resource_type}) is {status}"
    if resource_type != event.get("ResourceType") or request_type not in IN_PROGRESS:
        return f"{where}, not a {event.get('ResourceType')} {request_type}"
    physical_id = str(event.get("PhysicalResourceId") or "")
    current = detail.get("PhysicalResourceId") or ""
    if request_type == "Delete" and physical_id and current and physical_id != current:
        return _no_longer_held(stack_id, where, current, client)
    if stale is not None:
        return stale
    if status in IN_PROGRESS[request_type]:
        return ""
    return where


def _no_longer_held(stack_id: str, where: str, current: str, client: CloudFormationClient) -> str:
    """The Delete of a physical id that is not the resource's: confirmed while the stack cleans up
    (a replaced or rolled-back product's Delete) or once it has settled (`*_COMPLETE`: no rollback
    can bring that id back), late or not, for nothing may be orphaned; the owner records then keep
    it to a product of this very resource."""
    try:
        stacks = client.describe_stacks(StackName=stack_id)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        return f"{where} with physical id {current}, and its stack could not be read ({type(error).__name__})"
    stack_status = stacks[0].get("StackStatus", "") if stacks else ""
    if stack_status.endswith((CLEANUP_SUFFIX, SETTLED_SUFFIX)):
        return ""
    return f"{where} with physical id {current}, and its stack is {stack_status}, still changing"
