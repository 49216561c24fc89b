"""Ask a real account the questions rules.py leaves open, and save the answers as a profile.

    python -m local_cloud.servicecatalog.probe --product-id prod-... --artifact-id pa-... \\
        [--path-id lpv3-...] [--parameters Key=Value ...] [--failing-parameters Key=Value ...] \\
        [--out sc-profile.json]

(``make live-probe`` runs it with the ``SC_PROBE_*`` environment variables.) The caller must be
allowed to launch the product with those parameters. The probe makes one provisioned product with
a unique name and at most a few plans, and deletes and terminates everything it made even when a
step fails (plans deleted with IgnoreErrors, the product terminated, with IgnoreErrors only if a
plain terminate fails). It answers:

- what executing an already executed plan answers (a new token), and whether the first token
  replays (``execute_refusal_error``, ``execute_token_replays``);
- whether an executed plan still blocks a second plan for the product, which error refuses it,
  and whether there is a one-plan rule at all (``executed_plans_count``, ``one_plan_error``,
  ``one_plan_per_product``);
- what becomes of a new product's PLAN_IN_PROGRESS product when its plan is deleted unexecuted,
  and whether it can be terminated (``placeholder_after_plan_deleted``);
- which message a plan with nothing to change fails with (``no_changes_message``);
- with ``--failing-parameters`` (values the template accepts but CloudFormation cannot apply):
  whether an EXECUTE_FAILED plan needs IgnoreErrors to be deleted
  (``failed_plan_delete_needs_ignore_errors``).

Rules it does not settle keep ``ServiceRules.real()``'s answers; the file's ``observed`` section
records the raw codes and messages seen. Reads tolerate the replica lag rules.py describes: a
just-made object may be briefly not found, and an answer counts only once several reads agree.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from botocore.exceptions import ClientError

from local_cloud.servicecatalog.rules import ExecuteRefusalCode, PlanRefusalCode, ServiceRules

if TYPE_CHECKING:
    from mypy_boto3_servicecatalog import ServiceCatalogClient

NOT_FOUND = "NOT_FOUND"
_T = TypeVar("_T")
_STABLE_PRODUCT = frozenset({"AVAILABLE", "TAINTED", "ERROR", "PLAN_IN_PROGRESS"})


class ProbeError(Exception):
    """A step could not be carried out (the probe stops asking and cleans up)."""


@dataclass(frozen=True)
class ProbeTarget:
    """What the probe may launch: a product, an artifact, its parameters, and the optional extras."""

    product_id: str
    artifact_id: str
    path_id: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    failing_parameters: Mapping[str, str] | None = None
    name_prefix: str = "sc-rules-probe"


@dataclass(frozen=True)
class Pacing:
    """How patiently to read: AWS's answers lag (rules.py, rule 6), so answers must agree first."""

    poll_interval: float = 5.0  # seconds between reads (puppet polls plans every 5 s, terraform every 2 s or more)
    timeout: float = 1800.0  # seconds any one wait may take
    agreeing_reads: int = 3  # consecutive equal reads before an answer about a change counts (> the lag)
    settle: float = 30.0  # seconds to wait after a change before reading its outcome


@dataclass(frozen=True)
class ProbeResult:
    """The profile to save, the rules the probe settled, and whether every question was asked and
    everything cleaned up (if not: observed["failure"], observed["cleanup_problems"])."""

    rules: ServiceRules
    probed: tuple[str, ...]
    complete: bool


def _error(error: ClientError) -> dict[str, str]:
    return {"code": str(error.response["Error"]["Code"]), "message": str(error.response["Error"].get("Message", ""))}


class Probe:
    """One run against one account: ``run()`` asks, cleans up and returns the profile."""

    def __init__(
        self,
        client: ServiceCatalogClient,
        target: ProbeTarget,
        pacing: Pacing | None = None,
        *,
        log: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.target = target
        self.pacing = pacing or Pacing()
        self._log = log
        self._sleep = sleep
        self.answers: dict[str, Any] = {}
        self.observed: dict[str, Any] = {"not_found_reads": {}}
        self._plans: list[str] = []  # made and not yet deleted
        self._products: list[str] = []  # made and not yet seen gone

    # ----------------------------------------------------------------- the run

    def run(self) -> ProbeResult:
        """Ask every question, clean up whatever happens, and return what was learned."""
        self.observed["probe"] = {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "product_id": self.target.product_id,
            "provisioning_artifact_id": self.target.artifact_id,
            "region": self.client.meta.region_name,
        }
        complete = False
        try:
            self._ask()
            complete = True
        except (ProbeError, ClientError) as error:
            self.observed["failure"] = str(error)
            self._log(f"probe stopped: {error}")
        finally:
            self._clean_up()
        rules = dataclasses.replace(ServiceRules.real(), name="probed", observed=self.observed, **self.answers)
        return ProbeResult(rules, tuple(sorted(self.answers)), complete and "cleanup_problems" not in self.observed)

    def _ask(self) -> None:
        name = self._new_name()
        if not self._placeholder_question(name):
            name = self._new_name()  # the kept placeholder could not be terminated: its name stays taken
        plan_id, token = self._provision(name)
        self._execute_again_questions(plan_id, token)
        self._second_plan_questions(name, plan_id)
        if self.target.failing_parameters is not None:
            self._failed_plan_delete_question(name)

    # ----------------------------------------------------------------- the questions

    def _placeholder_question(self, name: str) -> bool:
        """Rule 5. Returns False if the name is still taken afterwards."""
        self._log(f"[placeholder] planning new product {name}")
        plan_id, pp_id = self._create_plan(name)
        details = self._wait_plan(plan_id)
        if details["Status"] != "CREATE_SUCCESS":
            raise ProbeError(f"a plan for a new product ended {details['Status']}: {details.get('StatusMessage')}")
        self._wait_product(pp_id, {"PLAN_IN_PROGRESS"})
        self._delete_plan(plan_id)
        self._sleep(self.pacing.settle)
        after = self._agreeing(lambda: self._product_status(pp_id))
        self.observed["placeholder_after_plan_deleted"] = {"status": after}
        self._log(f"[placeholder] after its only plan was deleted unexecuted: {after}")
        if after == NOT_FOUND:
            self.answers["placeholder_after_plan_deleted"] = "removed"
            self._products.remove(pp_id)
            return True
        self.answers["placeholder_after_plan_deleted"] = "kept"
        outcome = self._terminate(pp_id)
        gone = outcome == NOT_FOUND or (outcome != "FAILED" and self._gone(pp_id))
        self.observed["placeholder_terminate"] = {"record_status": outcome, "gone": gone}
        self._log(f"[placeholder] terminated: record {outcome}, product gone: {gone}")
        if gone:
            self._products.remove(pp_id)
        return gone

    def _provision(self, name: str) -> tuple[str, str]:
        """Plan and execute ``name`` to AVAILABLE: the executed plan the next questions use."""
        self._log(f"[provision] planning and executing {name}")
        plan_id, pp_id = self._create_plan(name)
        details = self._wait_plan(plan_id)
        if details["Status"] != "CREATE_SUCCESS":
            raise ProbeError(f"the plan for {name} ended {details['Status']}: {details.get('StatusMessage')}")
        token = self._token()
        record = self.client.execute_provisioned_product_plan(PlanId=plan_id, IdempotencyToken=token)["RecordDetail"]
        self.observed["first_record_id"] = record["RecordId"]
        final = self._wait_record(record["RecordId"])
        if final["Status"] != "SUCCEEDED":
            errors = "; ".join(f"{e.get('Code')}: {e.get('Description')}" for e in final.get("RecordErrors", []))
            raise ProbeError(f"the product did not launch ({final['Status']}): {errors}")
        self._wait_product(pp_id, {"AVAILABLE"})
        self._wait_plan(plan_id, until={"EXECUTE_SUCCESS", "EXECUTE_FAILED"})
        return plan_id, token

    def _execute_again_questions(self, plan_id: str, token: str) -> None:
        """Rule 4: a new token on an executed plan, then the first token again."""
        again = self._attempt(
            self.client.execute_provisioned_product_plan, PlanId=plan_id, IdempotencyToken=self._token()
        )
        if isinstance(again, ClientError):
            seen = _error(again)
            self.observed["execute_again"] = seen
            if seen["code"] in get_args(ExecuteRefusalCode):
                self.answers["execute_refusal_error"] = seen["code"]
            self._log(f"[execute] an executed plan, new token: {seen['code']}: {seen['message']}")
        else:
            record_id = again["RecordDetail"]["RecordId"]
            self.observed["execute_again"] = {"accepted": record_id}
            self._log(f"[execute] an executed plan, new token: accepted ({record_id})")
            self._wait_record(record_id)
        replay = self._attempt(self.client.execute_provisioned_product_plan, PlanId=plan_id, IdempotencyToken=token)
        if isinstance(replay, ClientError):
            self.observed["execute_same_token"] = {"replayed": False, **_error(replay)}
            self.answers["execute_token_replays"] = False
            self._log(f"[execute] the first token again: refused, {_error(replay)['code']}")
            return
        replayed = replay["RecordDetail"]["RecordId"] == self.observed["first_record_id"]
        self.observed["execute_same_token"] = {"replayed": replayed, "record_id": replay["RecordDetail"]["RecordId"]}
        self._log(f"[execute] the first token again: {'the first record' if replayed else 'a new record'}")
        if replayed:
            self.answers["execute_token_replays"] = True
        else:
            self._wait_record(replay["RecordDetail"]["RecordId"])

    def _second_plan_questions(self, name: str, executed_plan_id: str) -> None:
        """Rules 3 and 1: a plan next to the executed one, then next to an unexecuted one; its message."""
        attempt = self._attempt(self._create_plan, name)
        if isinstance(attempt, ClientError):
            seen = _error(attempt)
            self.observed["plan_next_to_executed_plan"] = {"refused": True, **seen}
            self._log(f"[one plan] next to the executed plan: refused, {seen['code']}: {seen['message']}")
            self.answers.update(one_plan_per_product=True, executed_plans_count=True)
            if seen["code"] in get_args(PlanRefusalCode):
                self.answers["one_plan_error"] = seen["code"]
            self._delete_plan(executed_plan_id)
            plan_id, _ = self._retry_refused(name, seen["code"])
            unexecuted_checked = True
        else:
            plan_id, _ = attempt
            self.observed["plan_next_to_executed_plan"] = {"refused": False}
            self._log("[one plan] next to the executed plan: accepted")
            self.answers["executed_plans_count"] = False
            unexecuted_checked = False
        details = self._wait_plan(plan_id)
        self.observed["no_changes"] = {"status": details["Status"], "message": details.get("StatusMessage", "")}
        self._log(
            f"[no changes] a plan with the product's own version: {details['Status']} {details.get('StatusMessage')}"
        )
        if details["Status"] == "CREATE_FAILED" and details.get("StatusMessage"):
            self.answers["no_changes_message"] = details["StatusMessage"]
        if not unexecuted_checked:
            self._plan_next_to_unexecuted_plan(name)
        self._delete_plan(plan_id)
        if executed_plan_id in self._plans:
            self._delete_plan(executed_plan_id)

    def _plan_next_to_unexecuted_plan(self, name: str) -> None:
        attempt = self._attempt(self._create_plan, name)
        if isinstance(attempt, ClientError):
            seen = _error(attempt)
            self.observed["plan_next_to_unexecuted_plan"] = {"refused": True, **seen}
            self._log(f"[one plan] next to an unexecuted plan: refused, {seen['code']}")
            self.answers["one_plan_per_product"] = True
            if seen["code"] in get_args(PlanRefusalCode):
                self.answers["one_plan_error"] = seen["code"]
            return
        self.observed["plan_next_to_unexecuted_plan"] = {"refused": False}
        self._log("[one plan] next to an unexecuted plan: accepted (no one-plan rule)")
        self.answers["one_plan_per_product"] = False
        self._delete_plan(attempt[0])

    def _failed_plan_delete_question(self, name: str) -> None:
        """Rule 2: execute a plan that fails, then delete it without IgnoreErrors."""
        assert self.target.failing_parameters is not None
        self._log("[failed plan] planning and executing with the failing parameters")
        plan_id, pp_id = self._create_plan(name, self.target.failing_parameters)
        details = self._wait_plan(plan_id)
        if details["Status"] != "CREATE_SUCCESS":
            self.observed["failed_plan_delete"] = {"skipped": f"the plan ended {details['Status']}"}
            return
        token = self._token()
        record = self.client.execute_provisioned_product_plan(PlanId=plan_id, IdempotencyToken=token)["RecordDetail"]
        final = self._wait_record(record["RecordId"])
        self._wait_product(pp_id, set(_STABLE_PRODUCT))
        if final["Status"] != "FAILED":
            self.observed["failed_plan_delete"] = {"skipped": f"the execution ended {final['Status']}"}
            return
        plan_status = self._wait_plan(plan_id, until={"EXECUTE_SUCCESS", "EXECUTE_FAILED"})["Status"]
        deleted = self._attempt(self.client.delete_provisioned_product_plan, PlanId=plan_id)
        if isinstance(deleted, ClientError):
            self.observed["failed_plan_delete"] = {"plan_status": plan_status, "refused": True, **_error(deleted)}
            self.answers["failed_plan_delete_needs_ignore_errors"] = True
            self._log(f"[failed plan] delete without IgnoreErrors: refused, {_error(deleted)['message']}")
            return
        self._plans.remove(plan_id)
        self.observed["failed_plan_delete"] = {"plan_status": plan_status, "refused": False}
        self.answers["failed_plan_delete_needs_ignore_errors"] = False
        self._log("[failed plan] delete without IgnoreErrors: deleted")

    # ----------------------------------------------------------------- cleanup

    def _clean_up(self) -> None:
        """Delete every plan made and terminate every product made; never raises."""
        problems: list[str] = []
        for plan_id in list(self._plans):
            try:
                self._delete_plan(plan_id)
            except Exception as error:
                problems.append(f"plan {plan_id}: {error}")
        for pp_id in list(self._products):
            try:
                self._terminate_for_good(pp_id)
            except Exception as error:
                problems.append(f"provisioned product {pp_id}: {error}")
        if problems:
            self.observed["cleanup_problems"] = problems
            for problem in problems:
                self._log(f"CLEANUP FAILED, remove by hand: {problem}")
        else:
            self._log("cleaned up: every plan deleted, every provisioned product terminated")

    def _terminate_for_good(self, pp_id: str) -> None:
        """Terminate (once it is not under change); if that fails, again with IgnoreErrors."""
        if self._wait_product(pp_id, set(_STABLE_PRODUCT) | {NOT_FOUND}) != NOT_FOUND:
            outcome = self._terminate(pp_id)
            if outcome == "FAILED" or (outcome != NOT_FOUND and not self._gone(pp_id)):
                self._log(f"terminating {pp_id} failed; terminating with IgnoreErrors (its resources may remain)")
                outcome = self._terminate(pp_id, ignore_errors=True)
                if outcome == "FAILED" or (outcome != NOT_FOUND and not self._gone(pp_id)):
                    raise ProbeError("still there after TerminateProvisionedProduct with IgnoreErrors")
        self._products.remove(pp_id)

    # ----------------------------------------------------------------- calls and waits

    def _new_name(self) -> str:
        return f"{self.target.name_prefix}-{uuid.uuid4().hex[:12]}"

    @staticmethod
    def _token() -> str:
        return uuid.uuid4().hex

    def _create_plan(self, name: str, parameters: Mapping[str, str] | None = None) -> tuple[str, str]:
        values = self.target.parameters if parameters is None else parameters
        request: dict[str, Any] = {
            "PlanName": f"{name}-{uuid.uuid4().hex[:6]}",
            "PlanType": "CLOUDFORMATION",
            "ProductId": self.target.product_id,
            "ProvisionedProductName": name,
            "ProvisioningArtifactId": self.target.artifact_id,
            "ProvisioningParameters": [{"Key": k, "Value": v} for k, v in values.items()],
            "IdempotencyToken": self._token(),
        }
        if self.target.path_id:
            request["PathId"] = self.target.path_id
        response = self.client.create_provisioned_product_plan(**request)
        self._plans.append(response["PlanId"])
        if response["ProvisionProductId"] not in self._products:
            self._products.append(response["ProvisionProductId"])
        return response["PlanId"], response["ProvisionProductId"]

    def _retry_refused(self, name: str, code: str) -> tuple[str, str]:
        """Create a plan until the refusal ``code`` (a lagging view of a deleted plan) stops."""
        deadline = time.monotonic() + self.pacing.timeout
        while True:
            attempt = self._attempt(self._create_plan, name)
            if not isinstance(attempt, ClientError):
                return attempt
            if _error(attempt)["code"] != code or time.monotonic() > deadline:
                raise ProbeError(f"a plan is still refused after the other plan was deleted: {attempt}")
            self._sleep(self.pacing.poll_interval)

    def _delete_plan(self, plan_id: str) -> None:
        try:
            self.client.delete_provisioned_product_plan(PlanId=plan_id, IgnoreErrors=True)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        if plan_id in self._plans:
            self._plans.remove(plan_id)

    def _terminate(self, pp_id: str, *, ignore_errors: bool = False) -> str:
        """Terminate and wait for the record: SUCCEEDED, FAILED, UNREADABLE, or NOT_FOUND if the
        product was already gone."""
        try:
            record = self.client.terminate_provisioned_product(
                ProvisionedProductId=pp_id, TerminateToken=self._token(), IgnoreErrors=ignore_errors
            )["RecordDetail"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return NOT_FOUND
            raise
        return str(self._wait_record(record["RecordId"], reads_may_fail=True)["Status"])

    def _gone(self, pp_id: str) -> bool:
        """Whether the product reads as not found ``agreeing_reads`` times running, before the timeout
        (reads right after the terminate may still show it: only "not found" is waited for)."""
        streak = 0
        deadline = time.monotonic() + self.pacing.timeout
        while True:
            streak = streak + 1 if self._product_status(pp_id) == NOT_FOUND else 0
            if streak >= self.pacing.agreeing_reads:
                return True
            if time.monotonic() > deadline:
                return False
            self._sleep(self.pacing.poll_interval)

    @staticmethod
    def _attempt(call: Callable[..., _T], *args: Any, **kwargs: Any) -> _T | ClientError:
        """The call's result, or the ClientError it raised (an answer to a question)."""
        try:
            return call(*args, **kwargs)
        except ClientError as error:
            return error

    def _read(self, call: Callable[..., Any], operation: str, **kwargs: Any) -> Any:
        """One read, retried while the object is not found yet (a just-made object lags)."""
        deadline = time.monotonic() + self.pacing.timeout
        while True:
            try:
                return call(**kwargs)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceNotFoundException" or time.monotonic() > deadline:
                    raise
                counts = self.observed["not_found_reads"]
                counts[operation] = counts.get(operation, 0) + 1
            self._sleep(self.pacing.poll_interval)

    def _wait(self, read: Callable[[], str], done: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + self.pacing.timeout
        while True:
            answer = read()
            if done(answer):
                return answer
            if time.monotonic() > deadline:
                raise ProbeError(f"gave up waiting for {what}: still {answer}")
            self._sleep(self.pacing.poll_interval)

    def _wait_plan(self, plan_id: str, until: set[str] | None = None) -> dict[str, Any]:
        """The plan's details once its status leaves CREATE_IN_PROGRESS (or reaches ``until``)."""
        targets = until or {"CREATE_SUCCESS", "CREATE_FAILED"}
        found: dict[str, Any] = {}

        def read() -> str:
            response = self._read(
                self.client.describe_provisioned_product_plan, "DescribeProvisionedProductPlan", PlanId=plan_id
            )
            found.update(response["ProvisionedProductPlanDetails"])
            return str(found["Status"])

        self._wait(read, lambda status: status in targets, f"plan {plan_id} to reach {sorted(targets)}")
        return found

    def _wait_record(self, record_id: str, *, reads_may_fail: bool = False) -> dict[str, Any]:
        """The record once SUCCEEDED or FAILED. With ``reads_may_fail`` (cleanup) a read error ends
        the wait early, as the product's own reads follow."""
        found: dict[str, Any] = {"Status": "UNKNOWN", "RecordId": record_id}

        def read() -> str:
            try:
                response = self._read(self.client.describe_record, "DescribeRecord", Id=record_id)
            except ClientError:
                if not reads_may_fail:
                    raise
                return "UNREADABLE"
            found.update(response["RecordDetail"])
            return str(found["Status"])

        final = self._wait(read, lambda s: s in ("SUCCEEDED", "FAILED", "UNREADABLE"), f"record {record_id}")
        found["Status"] = final if final == "UNREADABLE" else found["Status"]
        return found

    def _product_status(self, pp_id: str) -> str:
        try:
            response = self.client.describe_provisioned_product(Id=pp_id)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return NOT_FOUND
            raise
        return str(response["ProvisionedProductDetail"]["Status"])

    def _wait_product(self, pp_id: str, targets: set[str]) -> str:
        """The product's status once it is in ``targets`` twice running (terraform's
        ContinuousTargetOccurrence = 2; a read right after a write may show the old status)."""
        seen: list[str] = []

        def read() -> str:
            seen.append(self._product_status(pp_id))
            return seen[-1]

        def done(status: str) -> bool:
            return status in targets and len(seen) >= 2 and seen[-2] == status

        return self._wait(read, done, f"provisioned product {pp_id} to be {sorted(targets)}")

    def _agreeing(self, read: Callable[[], str]) -> str:
        """An answer once ``agreeing_reads`` reads in a row give it."""
        last, streak = "", 0
        deadline = time.monotonic() + self.pacing.timeout
        while True:
            answer = read()
            streak = streak + 1 if answer == last else 1
            last = answer
            if streak >= self.pacing.agreeing_reads:
                return answer
            if time.monotonic() > deadline:
                raise ProbeError(f"reads never agreed; last {answer}")
            self._sleep(self.pacing.poll_interval)


# --------------------------------------------------------------------- command line


def _pairs(values: Sequence[str]) -> dict[str, str]:
    parsed = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected Key=Value, got {value!r}")
        parsed[key] = rest
    return parsed


def _parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m local_cloud.servicecatalog.probe",
        description="Settle the Service Catalog emulator's uncertain rules in a real account.",
    )
    parser.add_argument("--product-id", default=env("SC_PROBE_PRODUCT_ID"))
    parser.add_argument("--artifact-id", default=env("SC_PROBE_ARTIFACT_ID"))
    parser.add_argument("--path-id", default=env("SC_PROBE_PATH_ID") or None)
    parser.add_argument("--parameters", nargs="*", default=(env("SC_PROBE_PARAMETERS") or "").split())
    failing = env("SC_PROBE_FAILING_PARAMETERS")
    parser.add_argument("--failing-parameters", nargs="*", default=failing.split() if failing else None)
    parser.add_argument("--out", default=env("SC_PROBE_OUT") or "sc-profile.json")
    parser.add_argument("--name-prefix", default="sc-rules-probe")
    parser.add_argument("--poll-interval", type=float, default=Pacing.poll_interval)
    parser.add_argument("--timeout", type=float, default=Pacing.timeout)
    parser.add_argument("--agreeing-reads", type=int, default=Pacing.agreeing_reads)
    parser.add_argument("--settle", type=float, default=Pacing.settle)
    return parser


def main(argv: Sequence[str] | None = None, client: ServiceCatalogClient | None = None) -> int:
    """Run the probe; 0 when done or skipped (no credentials, no product), 1 when a step failed."""
    args = _parser().parse_args(argv)
    if client is None:
        import boto3
        from botocore.config import Config

        session = boto3.Session()
        if session.get_credentials() is None:
            print("live probe skipped: no AWS credentials found")
            return 0
        if not (args.product_id and args.artifact_id):
            print(
                "live probe skipped: set SC_PROBE_PRODUCT_ID and SC_PROBE_ARTIFACT_ID (or --product-id/--artifact-id)"
            )
            return 0
        client = session.client("servicecatalog", config=Config(retries={"mode": "standard", "max_attempts": 5}))
    elif not (args.product_id and args.artifact_id):
        print("live probe skipped: set SC_PROBE_PRODUCT_ID and SC_PROBE_ARTIFACT_ID (or --product-id/--artifact-id)")
        return 0
    target = ProbeTarget(
        product_id=args.product_id,
        artifact_id=args.artifact_id,
        path_id=args.path_id,
        parameters=_pairs(args.parameters),
        failing_parameters=None if args.failing_parameters is None else _pairs(args.failing_parameters),
        name_prefix=args.name_prefix,
    )
    pacing = Pacing(args.poll_interval, args.timeout, args.agreeing_reads, args.settle)
    result = Probe(client, target, pacing).run()
    result.rules.save(args.out)
    print(f"wrote {args.out} (rules not listed keep ServiceRules.real()'s answers):")
    for name in result.probed:
        print(f"  {name} = {getattr(result.rules, name)!r}")
    return 0 if result.complete else 1


if __name__ == "__main__":
    sys.exit(main())
