"""Library log lines go through the provider's JSON logger and never at DEBUG (crhelper logs the
whole event, ResponseURL included, at DEBUG), whatever level the function's logger runs at."""

from __future__ import annotations

import io
import json
import logging

from aws_lambda_powertools import Logger

from sc_plan_provider.telemetry import route_library_logs


def test_library_logs_are_json_and_never_debug_even_when_the_logger_is() -> None:
    stream = io.StringIO()
    source = Logger(service="telemetry-test", level="DEBUG", logger_handler=logging.StreamHandler(stream))
    route_library_logs("library-under-test", source)
    library = logging.getLogger("library-under-test")

    library.debug("event: %s", {"ResponseURL": "https://example.com/presigned"})
    library.info("response sent")

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["response sent"]
    assert lines[0]["name"] == "library-under-test"
    assert lines[0]["service"] == "telemetry-test"
    assert "presigned" not in stream.getvalue()
