"""What must hold after every run of the sweep, whatever was faulted (checked once async work settled).

1. ``one answer``: every request CloudFormation sent got exactly one accepted answer before its
   ServiceTimeout, and no later PUT. The one exception no sender can avoid: when the PUT itself was
   carried out but its reply was lost (the environment killed, or the reply held past the client's
   timeout), the same answer is sent again; CloudFormation ignores a repeat, so an identical one
   (same Status and PhysicalResourceId) is noted, not counted. A different later answer always is.
2. ``nothing orphaned``: every live provisioned product (placeholders included) is the physical id
   of a resource CloudFormation still holds, or one kept on purpose: in plan mode the placeholder
   of a plan the user made that was never executed (the user's, deployable later).
3. ``product as declared``: every product the stack holds runs the artifact and parameters that
   the resource's current properties declare (the plan's, in plan mode) — unless the stack is in a
   ``*_FAILED`` state, which says the stack and its resources disagree.
4. ``owners true``: no owner record (`pp-...` item with a StackId in the owners table) names a
   resource that does not own its live product: owning means being the resource's physical id, or
   being listed under the resource's ``resource#...`` item as left to remove (``Abandoned``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from local_cloud.cloudformation import HistoryRow, Stack
from local_cloud.cloudformation.response_server import PendingResponse, ReceivedPut
from local_cloud.sweep.sequences import World

__all__ = [
    "CHECKS",
    "Check",
    "check_answers",
    "check_orphans",
    "check_owners",
    "check_versions",
    "failed_deletes",
    "held_products",
]

CHECKS = ("one answer", "nothing orphaned", "product as declared", "owners true")
_PLAN_UNEXECUTED = frozenset({"CREATE_IN_PROGRESS", "CREATE_SUCCESS", "CREATE_FAILED"})
_OWNERS_ROLE = "owners"
_CLEANUP_PHASES = frozenset({"cleanup", "rollback-cleanup"})


@dataclass(frozen=True)
class Check:
    """One invariant's verdict on one run: held or not, with what was seen."""

    name: str
    held: bool
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)
    binding: bool = True  # False: reported, but not a violation of what the provider promises

    @property
    def violated(self) -> bool:
        return self.binding and not self.held

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "held": self.held,
            "problems": list(self.problems),
            "notes": list(self.notes),
            "binding": self.binding,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Check:
        return cls(
            str(data["name"]),
            bool(data["held"]),
            tuple(data["problems"]),
            tuple(data["notes"]),
            bool(data.get("binding", True)),
        )


def _check(name: str, problems: list[str], notes: Iterable[str] = ()) -> Check:
    return Check(name, not problems, tuple(problems), tuple(notes))


def check_answers(
    stack: Stack,
    *,
    lost_put_reply_step: int | None = None,
    late_step: int | None = None,
    forged: Sequence[tuple[str, PendingResponse]] = (),
    forged_phase: str = "",
) -> Check:
    """Invariant 1 over every request of the run; ``lost_put_reply_step`` is the step whose PUT was
    faulted so that its reply was lost (an identical repeat is then expected); ``late_step`` the
    step whose event Lambda's queue held past its ServiceTimeout: CloudFormation gave up on it and
    ignores whatever answer comes later (what the provider did, the other invariants judge). ``forged`` are the
    hand-made events sent beside step ``forged_phase``: each gets a refusal, but a Delete naming a
    physical id the stack no longer holds (see `_judge_forged`)."""
    problems: list[str] = []
    notes: list[str] = []
    for step, row in enumerate(_requests(stack)):
        outcome = row.outcome
        assert outcome is not None
        label = f"step {step} ({row.phase} {row.request_type} {row.logical_id})"
        puts = [put for put in outcome.puts if put.method == "PUT"]
        accepted = [put for put in puts if put.accepted]
        if step == late_step:  # CloudFormation ignores any answer now: what was done, the others judge
            notes.extend(f"{label}: delivered late, answered {_answer(put)}" for put in puts)
            continue
        if outcome.timed_out:
            problems.append(f"{label}: no answer within ServiceTimeout ({outcome.service_timeout} s)")
        elif len(accepted) != 1:
            problems.append(f"{label}: {len(accepted)} accepted answers")
        later = [put for put in puts if put.note in ("duplicate", "late")]
        for put in later:
            same = bool(accepted) and _same_answer(put, accepted[0])
            first = _answer(accepted[0]) if accepted else "-"
            what = f"{label}: a {put.note} PUT ({_answer(put)}) after the answer ({first})"
            if same and step == lost_put_reply_step:
                notes.append(f"{what}: the same answer again, after its PUT's reply was lost")
            else:
                problems.append(what)
    for request_type, slot in forged:
        _judge_forged(request_type, slot, forged_phase, problems, notes)
    return _check(CHECKS[0], problems, notes)


def _judge_forged(request_type: str, slot: PendingResponse, phase: str, problems: list[str], notes: list[str]) -> None:
    """A forged event gets a refusal; but a Delete may be confirmed as the Delete of a physical id
    the stack no longer holds (during a cleanup, or once the stack settled): the owner records then
    keep it to products of that resource the stack does not hold, and the other invariants judge."""
    puts = [put for put in slot.puts if put.method == "PUT"]
    verdicts = ", ".join(_answer(put) for put in puts) or "no answer"
    if puts and all(_refused(put) for put in puts):
        notes.append(f"a forged {request_type} was refused")
    elif request_type == "Delete":
        notes.append(f"a forged {request_type} beside the {phase} step: {verdicts}")
    else:
        problems.append(f"a forged {request_type} beside the {phase} step was answered {verdicts}")


def held_products(stack: Stack) -> set[str]:
    """The physical ids CloudFormation still holds: the stack's resources, and the ids whose last
    request was a Delete that failed in a rollback or a stack delete (the resource is left
    DELETE_FAILED in the stack). A cleanup Delete that fails (after a replacement, or in a rollback's
    cleanup) leaves nothing held: CloudFormation completes the stack and forgets the old resource."""
    held = {r.physical_resource_id for r in stack.resources.values() if r.physical_resource_id}
    return held | {row.physical_resource_id for row in failed_deletes(stack) if row.physical_resource_id}


def failed_deletes(stack: Stack) -> list[HistoryRow]:
    """For each physical id whose last request is a Delete that failed in a rollback or a stack
    delete (not a cleanup), that request: CloudFormation keeps such a resource, DELETE_FAILED."""
    last: dict[str, HistoryRow] = {}
    for row in _requests(stack):
        if row.physical_resource_id:
            last[row.physical_resource_id] = row
    return [
        row
        for row in last.values()
        if row.request_type == "Delete" and row.status == "FAILED" and row.phase not in _CLEANUP_PHASES
    ]


def check_orphans(world: World) -> Check:
    """Invariant 2: every live product is held, or an unexecuted user plan's placeholder (plan mode)."""
    sc = world.cloud.servicecatalog
    held = held_products(world.stack)
    kept = _user_placeholders(world) if world.mode == "plan" else set()
    problems = [
        f"{product.id} ({product.name}, {product.status}) is held by no resource of the stack"
        for product in sc.provisioned_products()
        if product.id not in held and product.id not in kept
    ]
    notes = [f"{pid}: placeholder of an unexecuted user plan, kept" for pid in sorted(kept)]
    notes += [
        f"{plan.id} ({plan.provisioned_product_name}, {plan.status}): a plan the provider made, still there"
        for plan in sc.plans()
        if plan.id not in world.user_plans
    ]
    return _check(CHECKS[1], problems, notes)


def check_versions(world: World) -> Check:
    """Invariant 3: each held product runs what its resource's current properties declare."""
    stack, sc = world.stack, world.cloud.servicecatalog
    if stack.status.endswith("_FAILED"):
        return _check(CHECKS[2], [], [f"stack is {stack.status}: its resources may disagree with it"])
    problems: list[str] = []
    for resource in stack.resources.values():
        product_id = resource.physical_resource_id or ""
        declared = world.declared(resource)
        if not product_id.startswith("pp-") or declared is None:
            continue
        try:
            product = sc.provisioned_product(product_id)
        except KeyError:
            problems.append(f"{resource.logical_id}: its physical id {product_id} is no provisioned product")
            continue
        if product.terminated:
            problems.append(f"{resource.logical_id}: its product {product_id} was terminated")
            continue
        version = sc.current_version(product_id)
        if (version.provisioning_artifact_id, version.parameters) != (declared.artifact_id, dict(declared.parameters)):
            problems.append(
                f"{resource.logical_id}: {product_id} runs {version.provisioning_artifact_id} {version.parameters}, "
                f"the stack ({stack.status}) declares {declared.artifact_id} {dict(declared.parameters)}"
            )
    return _check(CHECKS[2], problems)


def check_owners(world: World) -> Check:
    """Invariant 4: every owner record of a live product names the resource that owns it."""
    cloud, stack = world.cloud, world.stack
    items = _scan(world, _OWNERS_ROLE)
    by_key = {item["ProvisionedProductId"]["S"]: item for item in items}
    live = {product.id for product in cloud.servicecatalog.provisioned_products()}
    problems: list[str] = []
    for key, item in sorted(by_key.items()):
        if not key.startswith("pp-") or "StackId" not in item or key not in live:
            continue
        stack_id, logical_id = item["StackId"]["S"], item.get("LogicalResourceId", {}).get("S", "?")
        resource = stack.resources.get(logical_id) if stack_id == stack.stack_id else None
        if resource is not None and resource.physical_resource_id == key:
            continue
        abandoned = by_key.get(_resource_key(stack_id, logical_id), {}).get("Abandoned", {}).get("SS", [])
        if key in abandoned:
            continue
        holder = f"which holds {resource.physical_resource_id}" if resource is not None else "no longer in the stack"
        problems.append(f"{key} is recorded as owned by {logical_id}, {holder}")
    return _check(CHECKS[3], problems)


def _requests(stack: Stack) -> list[HistoryRow]:
    return [row for row in stack.history if row.outcome is not None]


def _same_answer(put: ReceivedPut, accepted: ReceivedPut) -> bool:
    try:
        a, b = put.json(), accepted.json()
    except ValueError:
        return False
    return bool(a.get("Status") == b.get("Status") and a.get("PhysicalResourceId") == b.get("PhysicalResourceId"))


def _refused(put: ReceivedPut) -> bool:
    """A FAILED answer saying the request was refused with nothing changed."""
    try:
        body = put.json()
    except ValueError:
        return False
    return bool(
        body.get("Status") == "FAILED" and str(body.get("Reason", "")).startswith("Refused, nothing was changed")
    )


def _answer(put: ReceivedPut) -> str:
    try:
        body = put.json()
    except ValueError:
        return "not JSON"
    return f"{body.get('Status')} {body.get('PhysicalResourceId')}"


def _user_placeholders(world: World) -> set[str]:
    """Products of user plans never executed (plan mode): the user's to deploy or delete."""
    return {
        plan.provisioned_product_id
        for plan in world.cloud.servicecatalog.plans()
        if plan.id in world.user_plans and plan.status in _PLAN_UNEXECUTED and plan.execution_record_id is None
    }


def _scan(world: World, role: str) -> list[dict[str, Any]]:
    from local_cloud.sweep.trace import table_role

    cloud = world.cloud
    names = [name for logical_id, name in cloud.tables.items() if table_role(logical_id) == role]
    if not names:
        return []
    client = cloud.dynamodb.client()
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": names[0], "ConsistentRead": True}
    while True:
        page = client.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _resource_key(stack_id: str, logical_id: str) -> str:
    """The owners table's key of a resource's own item (`sc_plan_provider.records.owners.resource_key`)."""
    from sc_plan_provider.records.owners import Owner, resource_key

    return resource_key(Owner(stack_id, logical_id))
