"""The one layer every local service consults per request: who calls, may they, and what goes wrong.

Each server turns its request into a ``ServiceRequest`` and asks ``RequestGate.admit``. The answer
(an ``Admission``) says whether to refuse the call (an IAM denial, or an injected error) or carry it
out; once the service has its answer, ``Admission.deliver`` holds it (``slow``), kills the caller
(``kill``), records the outcome and says whether to send it or drop the connection.

Callers are told apart by the access key id of their signature: a ``Principal`` (the function's
execution role) has credentials the gate issued; any other key is the account's administrator
(the tests' own clients), always allowed and never faulted. Signatures are not checked.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from local_cloud.gate.faults import ErrorAnswer, Fault, FaultPlan, fault_answer
from local_cloud.gate.requests import ServiceRequest
from local_cloud.iam.policy import Evaluation, PolicySet

__all__ = ["Admission", "CallRecord", "KillCaller", "Principal", "RequestGate", "access_denied", "role_credentials"]

_LOG = logging.getLogger(__name__)

# Given the caller's local TCP port, SIGKILL the execution environment that owns it; its id, or None.
KillCaller = Callable[[int | None], str | None]


def role_credentials(seed: str) -> dict[str, str]:
    """Temporary-looking credentials unique to ``seed`` (a role's stack and logical id), as Lambda's
    environment variables: ``ASIA`` + 16 characters derived from the seed."""
    digest = hashlib.sha256(seed.encode()).digest()
    tag = base64.b32encode(digest).decode()[:16]
    return {
        "AWS_ACCESS_KEY_ID": f"ASIA{tag}",
        "AWS_SECRET_ACCESS_KEY": f"local-cloud-secret-{digest.hex()[:24]}",
        "AWS_SESSION_TOKEN": f"local-cloud-session-{digest.hex()[24:48]}",
    }


@dataclass(frozen=True)
class Principal:
    """A caller the gate knows: the function acting with its execution role.

    ``arn`` is the assumed-role session ARN denials name; ``policies`` None means IAM is not
    enforced for it (its calls are still recorded and faulted); ``condition_keys`` are the global
    condition keys its requests carry (``aws:PrincipalArn``...).
    """

    name: str
    arn: str
    credentials: Mapping[str, str]
    policies: PolicySet | None = None
    condition_keys: Mapping[str, str] = field(default_factory=dict)

    @property
    def access_key_id(self) -> str:
        return self.credentials["AWS_ACCESS_KEY_ID"]


@dataclass(frozen=True)
class CallRecord:
    """One call as the gate saw it, in arrival order; ``caller`` None is the account's administrator.

    ``status`` None means no answer was sent (the connection was dropped); ``fault`` names the kind
    injected; ``denied`` says IAM refused it (``error_code`` then is ``AccessDeniedException``).
    """

    index: int
    service: str
    operation: str
    resources: tuple[str, ...]
    caller: str | None
    started_at: float
    ended_at: float | None = None
    status: int | None = None
    error_code: str | None = None
    fault: str | None = None
    denied: bool = False

    @property
    def outcome(self) -> str:
        """``ok``, the error code, or ``dropped``; ``pending`` while the call is in flight."""
        if self.ended_at is None:
            return "pending"
        if self.status is None:
            return "dropped"
        return self.error_code or ("ok" if self.status < 400 else str(self.status))


class Admission:
    """The gate's verdict on one request, finished by ``deliver`` once the service has its answer."""

    def __init__(
        self,
        gate: RequestGate,
        request: ServiceRequest,
        index: int,
        *,
        principal: Principal | None,
        fault: Fault | None,
        refusal: ErrorAnswer | None,
        denied: bool,
    ) -> None:
        self.request = request
        self.principal = principal
        self.fault = fault
        self.refusal = refusal
        """Answer this instead of carrying the call out (an IAM denial or an injected error)."""
        self.denied = denied
        self._gate = gate
        self._index = index

    def deliver(self, status: int, error_code: str | None = None) -> bool:
        """The service's answer is ready: apply ``slow``/``kill``/``disconnect``, record; False means
        drop the connection."""
        send = True
        fault = self.fault
        if fault is not None and fault.kind == "slow":
            if fault.release is not None:
                fault.release.wait(fault.seconds)
            else:
                time.sleep(fault.seconds)
            send = fault.then == "answer"
        elif fault is not None and fault.kind == "disconnect":
            send = False  # the service never carried it out (its refusal was not sent either)
        elif fault is not None and fault.kind == "kill":
            killed = self._gate.kill_caller(self.request.client_port) if self._gate.kill_caller else None
            if killed is None:
                _LOG.warning("kill fault: no execution environment owns port %s", self.request.client_port)
            send = False
        self._gate.finish(self._index, status if send else None, error_code if send else None)
        return send


class RequestGate:
    """IAM, fault injection and the call log for every local service; thread-safe."""

    def __init__(self, *, account_id: str = "123456789012", region: str = "us-east-1") -> None:
        self.account_id = account_id
        self.region = region
        self.faults = FaultPlan()
        self.kill_caller: KillCaller | None = None
        self._lock = threading.Condition()
        self._principals: dict[str, Principal] = {}
        self._calls: list[CallRecord] = []

    # -- callers ---------------------------------------------------------------------------------

    def add_principal(self, principal: Principal) -> None:
        """Recognise ``principal`` by its access key id from now on."""
        with self._lock:
            self._principals[principal.access_key_id] = principal

    @property
    def principals(self) -> list[Principal]:
        with self._lock:
            return list(self._principals.values())

    def _caller(self, request: ServiceRequest) -> Principal | None:
        with self._lock:
            if request.presigned:
                # Whoever holds the URL: the function the gate knows (CloudFormation gave it only the URL).
                return next(iter(self._principals.values()), None)
            return self._principals.get(request.access_key_id or "")

    # -- the verdict -----------------------------------------------------------------------------

    def admit(self, request: ServiceRequest) -> Admission:
        """Record the call, pick its fault and decide IAM; the caller then calls ``deliver``."""
        principal = self._caller(request)
        fault = self.faults.choose(request) if principal is not None else None
        refusal = fault_answer(fault, request) if fault is not None else None
        denied = False
        if refusal is None and principal is not None and principal.policies is not None and not request.presigned:
            keys = {**principal.condition_keys, "aws:RequestedRegion": request.region or self.region}
            evaluation = principal.policies.evaluate(request.action, request.resources, keys)
            if not evaluation.allowed:
                denied = True
                refusal = access_denied(request.service, principal.arn, evaluation)
                _LOG.info("IAM denied %s on %s to %s", request.action, evaluation.resource, principal.name)
        with self._lock:
            index = len(self._calls) + 1
            self._calls.append(
                CallRecord(
                    index=index,
                    service=request.service,
                    operation=request.operation,
                    resources=request.resources,
                    caller=principal.name if principal is not None else None,
                    started_at=time.time(),
                    fault=fault.kind if fault is not None else None,
                    denied=denied,
                )
            )
        return Admission(self, request, index, principal=principal, fault=fault, refusal=refusal, denied=denied)

    def finish(self, index: int, status: int | None, error_code: str | None) -> None:
        with self._lock:
            record = self._calls[index - 1]
            self._calls[index - 1] = dataclasses.replace(
                record, ended_at=time.time(), status=status, error_code=error_code
            )
            self._lock.notify_all()

    # -- the log ---------------------------------------------------------------------------------

    def calls(self, *, include_admin: bool = False) -> list[CallRecord]:
        """The calls recorded so far in arrival order: the function's, or everyone's."""
        with self._lock:
            return [call for call in self._calls if include_admin or call.caller is not None]

    def clear_calls(self) -> None:
        """Forget the calls recorded so far (fault rules keep their counts)."""
        with self._lock:
            self._calls.clear()

    def wait_for_calls(self, predicate: Callable[[list[CallRecord]], bool], timeout: float = 30.0) -> list[CallRecord]:
        """Block until ``predicate`` holds for the function's finished calls; return them."""
        end = time.monotonic() + timeout
        with self._lock:
            while True:
                finished = [c for c in self._calls if c.caller is not None and c.ended_at is not None]
                if predicate(finished):
                    return finished
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"calls did not reach the expected state within {timeout} s")
                self._lock.wait(remaining)


def access_denied(service: str, principal_arn: str, evaluation: Evaluation) -> ErrorAnswer:
    """IAM's denial as each service answers it (HTTP 400 on the JSON protocols, 403 on Lambda's).

    Message as AWS words it: "User: <arn> is not authorized to perform: <action>[ on resource: <arn>]
    because no identity-based policy allows the <action> action" (implicit) or "... with an explicit
    deny in an identity-based policy" (IAM User Guide, "Troubleshoot access denied error messages").
    """
    on = "" if evaluation.resource == "*" else f" on resource: {evaluation.resource}"
    subject = f"User: {principal_arn} is not authorized to perform: {evaluation.action}{on}"
    if evaluation.decision == "explicit_deny":
        message = f"{subject} with an explicit deny in an identity-based policy"
    else:
        message = f"{subject} because no identity-based policy allows the {evaluation.action} action"
    if service == "dynamodb":
        return ErrorAnswer(400, "AccessDeniedException", message, "com.amazon.coral.service#AccessDeniedException")
    if service == "lambda":
        return ErrorAnswer(403, "AccessDeniedException", message, "User")
    if service == "cloudformation":  # the query protocol's denial: HTTP 403, code AccessDenied
        return ErrorAnswer(403, "AccessDenied", message)
    return ErrorAnswer(400, "AccessDeniedException", message)
