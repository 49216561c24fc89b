"""A bad provider release (it raises at import) on the local cloud: every delivery of a request
fails before the handler can answer, Lambda retries it as the template says and then puts the event
in the dead-letter queue, where an operator finds it; the function's logs hold the init error and
nothing of the request (no event, no ResponseURL)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import Any

from local_cloud.cloud import LocalCloud, provider_spec
from support.scenarios import plan, product, resource

# How long CloudFormation waits for each request here (it would wait the whole ServiceTimeout, up
# to an hour); Lambda's retries go on after it gave up, and the test waits for them to end.
WAIT = 10.0


# A release whose handler imports a module it renamed without shipping it under the old name: it
# raises at import, in every execution environment, before any request is read.
MISSING_MODULE = "sc_plan_provider.request_journal"


def _bad_release(asset_dir: Path, target: Path) -> Path:
    """The synthesized asset with that one broken import at the top of the handler module."""
    shutil.copytree(asset_dir, target)
    handler = target / "sc_plan_provider" / "handler.py"
    source = handler.read_text(encoding="utf-8")
    handler.write_text(source.replace("from sc_plan_provider import routes\n", f"import {MISSING_MODULE}\n", 1))
    assert MISSING_MODULE in handler.read_text(encoding="utf-8")
    return target


def _dead_letters(cloud: LocalCloud, logical_id: str, expected: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while len(messages) < expected and time.monotonic() < deadline:
        messages += cloud.sqs.receive(logical_id, wait_seconds=1)
    return messages


def test_a_release_that_fails_at_import_ends_in_the_dead_letter_queue(cdk_out: Path, tmp_path: Path) -> None:
    spec = provider_spec(cdk_out)
    assert (spec.maximum_retry_attempts, spec.maximum_event_age_s) == (2, 3600.0)
    broken = dataclasses.replace(spec, asset_dir=_bad_release(spec.asset_dir, tmp_path / "asset"))
    with LocalCloud(spec=broken, retry_delays=(0.5, 1.0)) as cloud:
        (queue_id,) = cloud.queues
        sc = cloud.servicecatalog
        cloud.cloudformation.timeout_override = WAIT  # the create's and its rollback's wait
        result = cloud.stack("bad-release").create(resource(plan(sc, product(sc))))
        # CloudFormation heard nothing: the create (and its rollback Delete) ran out of time.
        assert result.status == "ROLLBACK_FAILED", result
        create, rollback = result.outcomes
        assert create.timed_out and rollback.timed_out

        # Each request was tried three times (the template's MaximumRetryAttempts: 2), then dead-lettered.
        cloud.function.wait_for_async(timeout=30)
        attempts = cloud.function.attempts
        assert [a.outcome for a in attempts] == ["init_error"] * 6
        messages = _dead_letters(cloud, queue_id, expected=2)
        assert len(messages) == 2
        events = {json.loads(m["Body"])["RequestType"]: json.loads(m["Body"]) for m in messages}
        assert set(events) == {"Create", "Delete"}
        # The message is the event as CloudFormation sent it: which stack, which resource, and the
        # ResponseURL through which an operator may answer FAILED before ServiceTimeout.
        assert events["Create"] == create.event and events["Delete"] == rollback.event
        for message in messages:
            attributes = message["MessageAttributes"]
            assert attributes["ErrorCode"]["StringValue"] == "200"
            assert MISSING_MODULE in attributes["ErrorMessage"]["StringValue"]
            request_ids = {a.request_id for a in attempts}
            assert attributes["RequestID"]["StringValue"] in request_ids
        assert executions_started(sc) == 0

        # The logs say why (the import error), and nothing of the request.
        logs = cloud.function.log_text()
        assert f"No module named '{MISSING_MODULE}'" in logs
        signature = create.event["ResponseURL"].split("X-Amz-Signature=")[1].split("&")[0]
        assert signature not in logs and "ResponseURL" not in logs
        assert create.event["RequestId"] not in logs and create.event["StackId"] not in logs


def executions_started(sc: Any) -> int:
    return len(sc.calls_to("ExecuteProvisionedProductPlan"))
