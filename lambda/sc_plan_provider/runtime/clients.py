"""The AWS services the function calls, and the one client configuration they share.

Bundling keeps only these services' botocore models in the asset (the other ~440 are 28 MB of its
30 MB), so a client for any other service would fail with UnknownServiceError: add it here first.
The construct library reads `SERVICES` at synth time, where botocore need not be installed, so
botocore is imported only when the function builds its configuration.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_servicecatalog import ServiceCatalogClient

SERVICES = ("servicecatalog", "dynamodb", "lambda", "cloudformation")


# One attempt of any call ends within CONNECT + READ seconds (11 s), which is less than the answer
# reserve (handler.ANSWER_RESERVE_SECONDS, 20 s) minus the watchdog's margin (protocol.py, 8 s): a
# call started before the invocation's own deadline ends (or times out) before the watchdog has
# to hand the request over. Retries (throttling) can take longer: the watchdog then hands over.
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 8


@cache
def client_config() -> Config:
    """Standard retry mode backs off on ThrottlingException; 10 attempts ride out sustained
    throttling when many resources of one stack poll at once."""
    from botocore.config import Config  # noqa: PLC0415 - not needed at synth time, where SERVICES is read

    return Config(
        retries={"mode": "standard", "max_attempts": 10},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        user_agent_extra="sc-plan-provider",
    )


def service_catalog_client() -> ServiceCatalogClient:
    return _client("servicecatalog")  # type: ignore[no-any-return]


def dynamodb_client() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


def cloudformation_client() -> CloudFormationClient:
    """To confirm that CloudFormation waits for a request (confirmation.py): two read actions."""
    return _client("cloudformation")  # type: ignore[no-any-return]


@cache
def _client(service: str) -> Any:
    """One client per service and execution environment, shared by every module that calls it
    (a client costs ~15 ms to build at cold start; clients are thread-safe)."""
    import boto3  # noqa: PLC0415 - boto3 is not needed at synth time, where SERVICES is read

    return boto3.client(service, config=client_config())  # type: ignore[call-overload]


@cache
def history_client() -> ServiceCatalogClient:
    """The client for ListRecordHistory: bounded in time (short timeouts, one retry), so a slow or
    throttled look-up costs seconds at most and falls back to the polling policy."""
    import boto3  # noqa: PLC0415 - boto3 is not needed at synth time, where SERVICES is read

    return boto3.client("servicecatalog", config=history_client_config())


@cache
def history_client_config() -> Config:
    """For look-ups that may fail silently: one retry, short timeouts (a few seconds at worst)."""
    return client_config().merge(bounded_config(total_max_attempts=2, connect_timeout=1, read_timeout=2))


def bounded_config(*, total_max_attempts: int, connect_timeout: float, read_timeout: float) -> Config:
    """A configuration for calls that may fail fast: few attempts, short timeouts."""
    from botocore.config import Config  # noqa: PLC0415 - not needed at synth time, where SERVICES is read

    return Config(
        retries={"mode": "standard", "total_max_attempts": total_max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
