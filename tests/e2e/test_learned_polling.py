"""Learned polling end to end: the synthesized asset reads the product's record history from the
emulator (ListRecordHistory) and polls by it; every way the look-up can fail, and history that is
wrong, still ends in the right SUCCESS, at the policy's own pace."""

from __future__ import annotations

import pytest

from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import CustomResource, StackResult
from local_cloud.servicecatalog import ServiceCatalogEmulator
from support.scenarios import FAST_POLLING, plan, product, resource

LEARN = {"LearnedPolling": "true"}  # learn on top of FAST_POLLING (0.2 s), so the suite stays fast


def lateness_and_polls(sc: ServiceCatalogEmulator, result: StackResult, plan_id: str) -> tuple[float, int]:
    """(seconds from the record's SUCCEEDED to the accepted answer PUT, DescribeRecord calls)."""
    (record,) = [r for r in sc.records() if r.plan_id == plan_id]
    succeeded = next(moment for moment, status in record.timeline if status == "SUCCEEDED")
    (outcome,) = result.outcomes
    put = next(p for p in outcome.puts if p.accepted)
    polls = [c for c in sc.calls_to("DescribeRecord") if c.params.get("Id") == record.id]
    return put.received_at.timestamp() - succeeded, len(polls)


def test_history_of_similar_runs_answers_promptly_with_fewer_polls(cloud: LocalCloud) -> None:
    sc = cloud.servicecatalog
    seeded = product(sc, duration=6.0, outputs={"BucketName": "learned-1"})
    sc.seed_record_history(seeded.id, [5.8, 6.0, 6.2, 6.1, 5.9])
    plan_id = plan(sc, seeded)
    result = cloud.stack("learned").create(resource(plan_id, **LEARN))
    assert result.status == "CREATE_COMPLETE", result
    (outcome,) = result.outcomes
    assert outcome.data["Outputs.BucketName"] == "learned-1"
    (history,) = sc.calls_to("ListRecordHistory")
    assert history.params["SearchFilter"] == {"Key": "product", "Value": seeded.id}
    assert history.params["AccessLevelFilter"] == {"Key": "Role", "Value": "self"}
    late, polls = lateness_and_polls(sc, result, plan_id)
    policy_polls = 6.0 / FAST_POLLING["PollingIntervalSeconds"]  # 30 polls at 0.2 s without history
    assert polls <= 0.7 * policy_polls
    assert late < 1.5


@pytest.mark.parametrize("failure", ["denied", "throttled", "empty"])
def test_history_look_up_failures_fall_back_to_the_default_policy(cloud: LocalCloud, failure: str) -> None:
    """No polling properties at all: learning is on; the look-up fails and the defaults poll."""
    sc = cloud.servicecatalog
    if failure == "denied":
        sc.deny(["ListRecordHistory"])
    elif failure == "throttled":
        sc.inject_throttling(every=1, operations=["ListRecordHistory"])
    seeded = product(sc, duration=2.0, outputs={"BucketName": f"fallback-{failure}"})
    if failure != "empty":
        sc.seed_record_history(seeded.id, [60.0, 60.0])  # would sleep through this 2 s run if learned
    plan_id = plan(sc, seeded)
    defaults = CustomResource("Bucket", {"PlanId": plan_id}, resource_type=RESOURCE_TYPE)  # no Polling* at all
    result = cloud.stack(f"fallback-{failure}").create(defaults)
    assert result.status == "CREATE_COMPLETE", result
    assert result.outcomes[0].data["Outputs.BucketName"] == f"fallback-{failure}"
    lookups = sc.calls_to("ListRecordHistory")
    assert 1 <= len(lookups) <= 2  # bounded: one retry on throttling, none on denial
    expected = {"denied": "AccessDeniedException", "throttled": "ThrottlingException", "empty": None}[failure]
    assert {c.error_code for c in lookups} == {expected}
    late, polls = lateness_and_polls(sc, result, plan_id)
    # The defaults (1 s, x1.1) poll at 0, 1, 2.1, 3.31 s: a 2 s run is seen at 2.1 s, 4 polls.
    assert polls <= 5
    assert late < 2.0


@pytest.mark.parametrize(("history", "duration"), [([1.0, 1.0, 1.1], 3.0), ([9.0, 9.0, 9.5], 3.0)])
def test_wrong_history_still_answers_correctly_at_the_policy_pace(
    cloud: LocalCloud, history: list[float], duration: float
) -> None:
    """This run takes 3x (or 1/3) of what the product took before: answered like the policy would."""
    sc = cloud.servicecatalog
    seeded = product(sc, duration=duration, outputs={"BucketName": "wrong-history"})
    sc.seed_record_history(seeded.id, history)
    plan_id = plan(sc, seeded)
    result = cloud.stack("wrong").create(resource(plan_id, **LEARN))
    assert result.status == "CREATE_COMPLETE", result
    assert result.outcomes[0].data["Outputs.BucketName"] == "wrong-history"
    late, polls = lateness_and_polls(sc, result, plan_id)
    # The policy polls every 0.2 s here; the answer then reads the product once more when the first
    # read shows it from before the record (the real rules' stale read): 0.2 s later.
    assert late < 1.5
    assert polls <= duration / FAST_POLLING["PollingIntervalSeconds"] + 3
