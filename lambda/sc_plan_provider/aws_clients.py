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
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_servicecatalog import ServiceCatalogClient

SERVICES = ("servicecatalog", "dynamodb", "lambda")


@cache
def client_config() -> Config:
    """Standard retry mode backs off on ThrottlingException; 10 attempts ride out sustained
    throttling when many resources of one stack poll at once."""
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "max_attempts": 10},
        connect_timeout=5,
        read_timeout=20,
        user_agent_extra="sc-plan-provider",
    )


def service_catalog_client() -> ServiceCatalogClient:
    return _client("servicecatalog")  # type: ignore[no-any-return]


def dynamodb_client() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


def lambda_client() -> LambdaClient:
    return _client("lambda")  # type: ignore[no-any-return]


@cache
def _client(service: str) -> Any:
    """One client per service and execution environment, shared by every module that calls it
    (a client costs ~15 ms to build at cold start; clients are thread-safe)."""
    import boto3

    return boto3.client(service, config=client_config())  # type: ignore[call-overload]


@cache
def history_client_config() -> Config:
    """For look-ups that may fail silently: one retry, short timeouts (a few seconds at worst)."""
    from botocore.config import Config

    return client_config().merge(
        Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=1, read_timeout=2)
    )
