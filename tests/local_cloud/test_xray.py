"""The local X-Ray daemon: the SDK's UDP protocol in, segment documents out."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from local_cloud.xray import LocalXRayDaemon


@pytest.fixture
def daemon() -> Iterator[LocalXRayDaemon]:
    with LocalXRayDaemon() as running:
        yield running


def send(daemon: LocalXRayDaemon, datagram: bytes) -> None:
    host, port = daemon.address.split(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(datagram, (host, int(port)))


def received(daemon: LocalXRayDaemon, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 5
    while len(daemon.documents()) + len(daemon.rejected) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return daemon.documents()


def datagram(document: dict[str, Any], header: dict[str, Any] | None = None) -> bytes:
    return json.dumps(header or {"format": "json", "version": 1}).encode() + b"\n" + json.dumps(document).encode()


def test_documents_and_nested_subsegments_are_kept_in_order(daemon: LocalXRayDaemon) -> None:
    segment = {"name": "fn", "id": "a", "subsegments": [{"name": "inner", "id": "b", "subsegments": [{"id": "c"}]}]}
    streamed = {"type": "subsegment", "name": "servicecatalog", "id": "d", "parent_id": "a"}
    send(daemon, datagram(segment))
    send(daemon, datagram(streamed))

    assert [d["id"] for d in received(daemon, 2)] == ["a", "d"]
    assert [s["id"] for s in daemon.subsegments()] == ["b", "c", "d"]
    assert daemon.rejected == []


def test_datagrams_that_break_the_protocol_are_rejected(daemon: LocalXRayDaemon) -> None:
    send(daemon, datagram({"id": "x"}, header={"format": "xml", "version": 1}))
    send(daemon, b'{"format": "json", "version": 1}\nnot json')
    send(daemon, b'{"format": "json", "version": 1}\n[1, 2]')

    assert received(daemon, 3) == []
    assert len(daemon.rejected) == 3
