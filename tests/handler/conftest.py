"""Handler tests swap only the outbound edges: Service Catalog (botocore Stubber) and the
ResponseURL (a recorder in place of the HTTPS PUT). Everything between runs for real."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from sc_plan_provider import handler
from sc_plan_provider.handler import default_ledger, default_registry
from sc_plan_provider.runtime import protocol
from sc_plan_provider.runtime.clients import client_config
from sc_plan_provider.servicecatalog.calls import ServiceCatalog
from support.cfn_requests import SECRET, Answers


@pytest.fixture(autouse=True)
def confirmed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """CloudFormation shows every request in progress (tests/handler/test_confirmation.py asks it
    otherwise), and a request older than its ServiceTimeout is refused; the events the provider
    asked about."""
    asked: list[dict[str, object]] = []

    def confirm(event: dict[str, object], stale: str | None) -> str | None:
        asked.append(event)
        return stale

    monkeypatch.setattr(handler.helper, "_confirm", confirm)
    return asked


@pytest.fixture(autouse=True)
def fresh_records() -> Iterator[None]:
    """Each test starts with empty in-process records (owners, executed plans, the ledger), as a
    new execution environment without the tables would."""
    default_registry.cache_clear()
    default_ledger.cache_clear()
    yield
    default_registry.cache_clear()
    default_ledger.cache_clear()


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    recorded = Answers()

    def record(url: str, body: bytes, *, give_up_at: float, **_: object) -> int:
        assert SECRET in url
        recorded.bodies.append(json.loads(body))
        recorded.sizes.append(len(body))
        return 1

    monkeypatch.setattr(protocol, "put_response", record)
    return recorded


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client(
        "servicecatalog",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=client_config(),
    )
    stubber = Stubber(client)
    monkeypatch.setattr(handler, "_service_catalog", lambda language: ServiceCatalog(client, language))
    with stubber:
        yield stubber
        stubber.assert_no_pending_responses()
