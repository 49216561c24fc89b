"""crhelper's CfnResource, with the fixes this provider needs made in this one place.

crhelper keeps the request/response skeleton (dispatch on RequestType, the answer on exceptions,
the watchdog timer). What changes, and why (docs/facts.md#crhelpers-defects):
- no EventBridge polling machinery: its clients cost cold start and its rules need run-time
  IAM changes; waiting is done in-process with the retry policy;
- no 120 s sleep before answering Delete, no root-logger changes, no event logging (the event
  holds the pre-signed ResponseURL);
- exactly one answer per request: the watchdog and the handler cannot both send, and across
  invocations (duplicates, continuations, Lambda's retries) the request ledger lets one answer;
- a request that outlives this invocation is handed to a new one (handover.py; the continuation
  it carries is read here), unanswered,
  also by the watchdog when the handler is stuck in a slow call near the end: a healthy request
  is never failed for want of time while it can continue; the first arrival travels with it;
- a request that a later request of the same resource superseded answers FAILED untouched;
- the answer fits CloudFormation's 4096 bytes (outputs left out are named in the answer) and is
  recorded with its claim, then delivered by `delivery.put_response` (2xx only, retried with
  backoff); a delivery that keeps failing is handed on to a new invocation, which re-sends the
  recorded bytes, until CloudFormation's ServiceTimeout;
- the handler does not return while the watchdog it started is still handing over or answering;
- a failure keeps the product id it found, so a rollback Delete can clean up.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crhelper import CfnResource

from sc_plan_provider.core.request import (
    NOT_PROVISIONED_PREFIX,
    PlanRequest,
    ResourceFailure,
    carried_first_seen,
    carried_holder,
    carried_hop,
    carried_product_id,
    event_digest,
)
from sc_plan_provider.core.telemetry import logger, metrics
from sc_plan_provider.records.ledger import AnswerClaim, Arrival
from sc_plan_provider.runtime.confirmation import (
    response_url_is_cloudformations,
    service_timeout_seconds,
    signed_at,
)
from sc_plan_provider.runtime.delivery import DeliveryError, encode, encoded_as_is, put_response
from sc_plan_provider.steps.deputy import require_same_home
from sc_plan_provider.waiting.waiter import ContinuationNeeded, Sleep, real_sleep

if TYPE_CHECKING:
    from collections.abc import Callable

    from sc_plan_provider.records.ports import Ledger

SUCCESS = "SUCCESS"
FAILED = "FAILED"
# The sender may keep retrying until this close to the function's own deadline.
DELIVERY_DEADLINE_MARGIN_SECONDS = 1.0
DELIVERY_WINDOW_SECONDS = 60.0
# Recording a delivered answer is retried this often (a duplicate must never answer again).
RECORD_ATTEMPTS = 4
RECORD_RETRY_SECONDS = 0.5
# The watchdog acts this long before the Lambda deadline (a fraction of it for short timeouts): a
# hand-over (one Invoke on a client with 1-2 s timeouts) or, without a ledger, a FAILED answer.
WATCHDOG_MARGIN_SECONDS = 8.0
WATCHDOG_MARGIN_FRACTION = 0.05
WATCHDOG_MIN_MARGIN_SECONDS = 0.5
# X-Amz-Date counts whole seconds: within one, arrival order decides.
SIGNED_SECOND = 0.999
# A refusal's answer is tried this long at most: CloudFormation may not be waiting for it at all.
REFUSAL_DELIVERY_SECONDS = 5.0
# A hand-over that keeps failing stops this long before the Lambda deadline, for the FAILED answer.
HANDOVER_ANSWER_RESERVE_SECONDS = 3.0
SUPERSEDED_REASON = (
    "A later request for this resource arrived (CloudFormation stopped waiting for this one and moved "
    "on): this request changed nothing more and leaves the resource to the later request."
)
REQUIRED_EVENT_KEYS = ("RequestType", "ResponseURL", "StackId", "RequestId", "LogicalResourceId")

# crhelper logs the whole event (with the ResponseURL) at DEBUG: never let that level through
# (telemetry.route_library_logs keeps it so when the handler routes crhelper's logs).
logging.getLogger("crhelper").setLevel(logging.INFO)


class UndeliveredResponseError(Exception):
    """Raised from the handler so Lambda retries the invocation; the retry answers again."""


class PlanResource(CfnResource):
    def __init__(
        self,
        ledger: Callable[[], Ledger],
        *,
        confirm: Callable[[dict[str, Any], str | None], str | None],
        still_waits: Callable[[dict[str, Any]], bool] = lambda _event: True,
        sleep: Sleep = real_sleep,
    ) -> None:
        """`confirm(event, stale)` asks CloudFormation whether it shows the request in progress: None
        when it does, else what it shows (`stale`, the reason a request older than its ServiceTimeout
        is refused, unless it is the Delete of a product the stack no longer holds);
        `still_waits(event)` whether it may still wait for an answer that was claimed before
        (confirmation.py)."""
        # CfnResource.__init__ is deliberately not called: it creates lambda/events/logs clients for
        # polling we do not use and reconfigures the root logger. These are the attributes its
        # request path reads.
        self._create_func: Callable[..., str] | None = None
        self._update_func: Callable[..., str] | None = None
        self._delete_func: Callable[..., str] | None = None
        self._poll_create_func = None
        self._poll_update_func = None
        self._poll_delete_func = None
        self._timer: threading.Timer | None = None
        self._init_failed: Exception | None = None
        self._sleep_on_delete = 0
        self._sam_local = None
        self._ssl_verify = None
        self._response_url = ""
        self._event: dict[str, Any] = {}
        self._context: Any = None
        self.Status = ""
        self.Reason = ""
        self.PhysicalResourceId = ""
        self.StackId = ""
        self.RequestId = ""
        self.LogicalResourceId = ""
        self.Data: dict[str, Any] = {}
        self.NoEcho = False
        self._answer_lock = threading.Lock()
        self._answered = False
        self._delivery_error: DeliveryError | None = None
        self._product_id = ""
        self._ledger = ledger
        self._confirm = confirm
        self._still_waits = still_waits
        self._sleep = sleep
        self._request: PlanRequest | None = None
        self._continuing = False
        self._handed_over = False
        self._superseded = False
        self._unregistered: tuple[PlanRequest, str, float | None, str] | None = None
        self._holder = ""
        self.first_seen = 0.0

    @property
    def ledger(self) -> Ledger:
        return self._ledger()

    @property
    def continuable(self) -> bool:
        """Requests can outlive an invocation only with a durable ledger to resume from."""
        return self._ledger().durable

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        missing = [key for key in REQUIRED_EVENT_KEYS if not event.get(key)]
        if missing:
            # Without these there is nobody to answer: fail the invocation loudly instead.
            raise ValueError(f"Not a CloudFormation custom resource request: missing {', '.join(missing)}")
        response_url = str(event["ResponseURL"])
        if not response_url_is_cloudformations(response_url, str(getattr(context, "invoked_function_arn", ""))):
            # Not CloudFormation waiting: no answer goes out (the URL may be anyone's), nothing is done.
            logger.warning(
                "Request refused: its ResponseURL is not CloudFormation's response bucket; not answered",
                extra={"response_host": (urlsplit(response_url).hostname or "")[:100]},
            )
            metrics.add_metric(name="RefusedRequests", unit="Count", value=1)
            return
        arrived_at = time.time()
        request = PlanRequest.from_event(event)
        signed = signed_at(response_url)
        refusal = self._refusal(event, request, signed, str(getattr(context, "invoked_function_arn", "")))
        if refusal is not None:
            logger.warning("Request refused: CloudFormation does not wait for it", extra={"reason": refusal})
            metrics.add_metric(name="RefusedRequests", unit="Count", value=1)
            self._answer_refused(event, context, refusal)
            return
        # A delivery handed on answers as the invocation that claimed the answer (its recorded body).
        holder = carried_holder(event) or str(getattr(context, "aws_request_id", "") or "")
        # The request's time: when CloudFormation signed its ResponseURL (to the second; the provider's
        # own clock orders two requests signed within one second), or what a continuation carries.
        sent = None if signed is None else signed + min(max(arrived_at - signed, 0.0), SIGNED_SECOND)
        anchors = [moment for moment in (carried_first_seen(event), sent) if moment is not None]
        carried = min(anchors) if anchors else None
        unregistered: tuple[PlanRequest, str, float | None, str] | None = None
        try:
            arrival = self._ledger().arrive(request, holder, carried, event_digest(event))
        except Exception:
            # Better a possible second answer than none: go on as a first arrival (the anchor a
            # continuation carries keeps the deadline where it was), and register before acting.
            logger.exception("Request ledger unavailable; continuing without it")
            arrival = Arrival(arrived_at if carried is None else min(carried, arrived_at), answered=False)
            unregistered = (request, holder, carried, event_digest(event))  # registered before it acts
        if idle := _nothing_to_do(event, arrival):
            logger.info(idle)
            return
        with self._answer_lock:
            self._answered = False
            self._delivery_error = None
            self._product_id = carried_product_id(event)
            self._request = request
            self._continuing = False
            self._handed_over = False
            self._superseded = arrival.superseded
            self._unregistered = unregistered
            self._holder = holder
            self.NoEcho = False  # set by the answer (property NoEcho); a warm environment keeps attributes
            self.first_seen = arrival.first_seen
        if arrival.claimed_body:
            self._resend(event, context, arrival.claimed_body)
        else:
            super().__call__(event, context)
            if self._timer is not None:
                # A watchdog that fired is handing over or answering: returning now would freeze it
                # mid-call until this environment's next invocation.
                self._timer.join(max(0.0, self._remaining_seconds()))
            if self._continuing:
                self._hand_over(event, context)
        if self._delivery_error is not None:
            raise UndeliveredResponseError(str(self._delivery_error))

    def _refusal(
        self, event: dict[str, Any], request: PlanRequest, signed: float | None, function_arn: str
    ) -> str | None:
        """Why CloudFormation does not wait for this request (None: it does): a stack of another
        account or Region (whose CloudFormation this function cannot ask), too old (but the Delete
        of a product the stack no longer holds: nothing may be orphaned), an event that reuses a
        confirmed request's id with other contents, or not shown in progress. A re-delivery of a
        request this provider confirmed before (a duplicate, Lambda's retry, a continuation) is
        known to the ledger by its digest and is not asked about again."""
        try:
            require_same_home(request, function_arn, None)
        except ResourceFailure as failure:
            return failure.reason.rstrip(".")
        timeout = service_timeout_seconds(event)
        stale = None
        if signed is not None and time.time() - signed > timeout:
            sent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(signed))
            stale = (
                f"CloudFormation sent this request at {sent}, more than its ServiceTimeout ({timeout:g} s) ago, "
                "and no longer waits for its answer"
            )
        try:
            known = self._ledger().event_digest(request)
        except Exception:
            logger.exception("Request ledger unavailable; asking CloudFormation")
            known = None
        if known == event_digest(event) and stale is None:
            return None
        if known is not None and known != event_digest(event):
            return "another event already came with this request's id and other contents"
        shown = self._confirm(event, stale)
        if shown is None:
            return None
        if shown == stale:
            return stale
        return f"CloudFormation does not show this {request.request_type} in progress: {shown}"

    def _answer_refused(self, event: dict[str, Any], context: Any, why: str) -> None:
        """FAILED, without touching the provider's records (refusal.py)."""
        from sc_plan_provider.runtime.refusal import answer_refused  # noqa: PLC0415 - refused requests only

        window = min(REFUSAL_DELIVERY_SECONDS, self._remaining(context) - DELIVERY_DEADLINE_MARGIN_SECONDS)
        answer_refused(event, why, window=window, sleep=self._sleep, put=put_response)

    @staticmethod
    def _remaining(context: Any) -> float:
        return float(context.get_remaining_time_in_millis()) / 1000

    def _hand_over(self, event: dict[str, Any], context: Any) -> None:
        """Continue the request in a new invocation, once per invocation (handler or watchdog)."""
        with self._answer_lock:
            if self._handed_over or self._answered:
                return
            self._handed_over = True
        try:
            give_up_at = time.monotonic() + self._remaining_seconds() - HANDOVER_ANSWER_RESERVE_SECONDS
            from sc_plan_provider.runtime.handover import continue_in_new_invocation  # noqa: PLC0415 - a hand-over only

            continue_in_new_invocation(
                event,
                context.invoked_function_arn,
                self.first_seen,
                product_id=self._product_id or carried_product_id(event),
                give_up_at=give_up_at,
                handed_over=self._handed_over_to,
                sleep=self._sleep,
            )
        except Exception as error:
            logger.exception("Could not hand the request over")
            self._continuing = False
            self._send(FAILED, f"The provider could not hand the request over to a new invocation: {error}")

    def may_act(self, request: PlanRequest) -> bool:
        """Whether the request may still change anything (not answered, not superseded)."""
        with self._answer_lock:
            if self._answered or self._handed_over:
                return False
        try:
            if self._unregistered is not None:
                # Its arrival was never recorded: as it stands, the resource's latest request is an
                # earlier one (a cleanup Delete would find itself superseded by its own Update).
                arrival = self._ledger().arrive(*self._unregistered)
                self._unregistered = None
                if arrival.answered or arrival.superseded:
                    return False
            return self._ledger().may_act(request, self._holder)
        except Exception:
            logger.exception("Request ledger unavailable; acting without the check")
            return True

    def note_product(self, product_id: str) -> None:
        """Remember the product as soon as it exists, for an answer sent before the handler returns."""
        self._product_id = product_id

    def _log_setup(self, event: dict[str, Any], context: Any) -> None:
        """Logging is Powertools' job; crhelper's setup would reset the root logger per request."""

    def _wrap_function(self, func: Callable[[dict[str, Any], Any], str] | None) -> None:
        if self._superseded:
            logger.warning("Request superseded by a later request of the same resource: nothing to do")
            self.Status, self.Reason = FAILED, SUPERSEDED_REASON
            self.PhysicalResourceId = self._event.get("PhysicalResourceId") or self.generate_physical_id(self._event)
            return
        try:
            self.PhysicalResourceId = func(self._event, self._context) if func else ""
        except ContinuationNeeded as pending:
            logger.info("This invocation's time is nearly up; continuing in a new one", extra={"pending": str(pending)})
            self._continuing = True
            # For an answer the hand-over may still need.
            self.PhysicalResourceId = self._held_id(str(self._event.get("PhysicalResourceId") or ""))
        except ResourceFailure as failure:
            logger.warning("Request failed", extra={"reason": failure.reason})
            self.Status, self.Reason = FAILED, failure.reason
            self.PhysicalResourceId = self._held_id(failure.physical_resource_id)
        except Exception as error:
            logger.exception("Unexpected error")
            self.Status, self.Reason = (
                FAILED,
                f"Internal error in the provider function: {type(error).__name__}: {error}",
            )
            self.PhysicalResourceId = self._held_id(str(self._event.get("PhysicalResourceId") or ""))

    def _held_id(self, failed_id: str | None) -> str:
        """A product this request made (noted here, or carried by the continuation) is the answer's
        physical id even when a later step fails with the not-provisioned marker: the stack must
        hold it, so that its rollback removes it."""
        if self._product_id and (not failed_id or failed_id.startswith(NOT_PROVISIONED_PREFIX)):
            return self._product_id
        return failed_id or ""

    def generate_physical_id(self, event: dict[str, Any]) -> str:
        """Used by crhelper for a Create that failed with no product: a recognisable marker."""
        return PlanRequest.from_event(event).not_provisioned_id()

    def _set_timeout(self) -> None:
        """The watchdog: crhelper's timer, set to leave time for a hand-over instead of 0.5 s."""
        remaining = self._remaining_seconds()
        margin = min(WATCHDOG_MARGIN_SECONDS, max(WATCHDOG_MIN_MARGIN_SECONDS, remaining * WATCHDOG_MARGIN_FRACTION))
        self._timer = threading.Timer(max(0.0, remaining - margin), self._timeout)
        self._timer.daemon = True
        self._timer.start()

    def _timeout(self) -> None:
        """The handler is still busy (a slow call) this close to the Lambda deadline."""
        if self._continuing and self._handed_over:  # the request is being handed over, not abandoned
            return
        with self._answer_lock:  # decided with the answer's own lock: the main thread answers, or hands over
            answered = self._answered
            self._continuing = self._continuing or (not answered and self.continuable)
        if answered:  # the answer is out or going out: only recording it is still running
            logger.warning("Lambda deadline near while the answer is being recorded; nothing to hand over")
            return
        if self._continuing:
            logger.warning("Lambda deadline near while a call is still running; continuing in a new invocation")
            self._hand_over(self._event, self._context)
            return
        self._send(
            FAILED,
            "The provider function reached its Lambda timeout before Service Catalog finished; the "
            "provisioning goes on there. Raise the function timeout or lower DeadlineSeconds.",
        )

    def _send(self, status: str | None = None, reason: str = "", send_response: object = None) -> None:
        """The single exit for every answer: the first caller sends, later callers do nothing. The
        body is built before the answer is claimed and recorded with the claim, so nothing after
        the claim can leave it unanswered, and every re-send is the same bytes."""
        with self._answer_lock:
            if self._answered or (self._continuing and status is None):
                if self._answered:
                    logger.warning("Request already answered; not answering again")
                return
            self._answered = True
        assert self._request is not None  # set by __call__ before any answer can be sent
        body = self._answer_body(status, reason)
        claimed = self._claim_answer(self._request, body)
        if claimed is not None:
            self._deliver(claimed)

    def _answer_body(self, status: str | None, reason: str) -> str:
        """The answer as sent (UTF-8 JSON within 4096 bytes); FAILED, saying so, when it cannot be
        encoded (an output value JSON cannot carry, say)."""
        try:
            return _within_limit(self._body(status, reason))
        except Exception as error:
            logger.exception("The answer could not be encoded; answering FAILED instead")
            failed = {
                **self._body(
                    FAILED,
                    f"The provider could not encode its answer ({type(error).__name__}): "
                    "retry the deployment; if it fails again, report it with the function's log.",
                ),
                "NoEcho": False,
            }
            return _within_limit(failed)

    def _deliver(self, body: str) -> None:
        """PUT the claimed answer; a delivery that fails is handed on, not dropped."""
        assert self._request is not None
        window = min(DELIVERY_WINDOW_SECONDS, self._remaining_seconds() - DELIVERY_DEADLINE_MARGIN_SECONDS)
        try:
            put_response(self._response_url, body.encode(), give_up_at=time.monotonic() + window, sleep=self._sleep)
        except DeliveryError as error:
            self._hand_on(error)
            return
        self._record(self._ledger().answered, self._request)

    def _hand_on(self, error: DeliveryError) -> None:
        """Not delivered: the claimed answer goes on to a new invocation (handover.py), or the
        invocation fails so that Lambda's retry re-sends it."""
        from sc_plan_provider.runtime.handover import hand_on_delivery  # noqa: PLC0415 - a failed delivery only

        self._delivery_error = hand_on_delivery(
            error,
            self._event,
            self._context.invoked_function_arn,
            self.first_seen,
            product_id=self._product_id,
            answered_by=self._holder,
            continuable=self.continuable,
            give_up_at=time.monotonic() + self._remaining_seconds() - DELIVERY_DEADLINE_MARGIN_SECONDS,
            handed_over=self._handed_over_to,
            sleep=self._sleep,
        )

    def _handed_over_to(self, hop: int) -> None:
        assert self._request is not None
        self._record(lambda request: self._ledger().handed_over(request, hop), self._request)

    def _resend(self, event: dict[str, Any], context: Any, body: str) -> None:
        """This holder claimed the answer and may not have delivered it (Lambda retries its invocation,
        or its failed delivery was handed on): the recorded bytes go again, unless CloudFormation
        shows it got them (or gave up), and the request is not redone."""
        with self._answer_lock:
            self._answered = True
        self._event, self._context, self._response_url = event, context, str(event["ResponseURL"])
        assert self._request is not None
        if not self._still_waits(event):
            logger.info("CloudFormation no longer waits for this request: its answer arrived")
            self._record(self._ledger().answered, self._request)
            return
        logger.info("Sending the answer this request recorded again")
        self._deliver(body)

    def _record(self, update: Callable[[PlanRequest], None], request: PlanRequest) -> None:
        """Ledger bookkeeping after the fact must never turn a delivered answer into a failure; it is
        retried, since a duplicate that finds no record of a delivered answer would answer again."""
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                update(request)
                return
            except Exception:
                if attempt == RECORD_ATTEMPTS:
                    logger.exception("Could not record in the request ledger")
                    return
                self._sleep(RECORD_RETRY_SECONDS * attempt)

    def _claim_answer(self, request: PlanRequest, body: str) -> str | None:
        """Win the right to answer, recording the body; the body to send (the one recorded first, if
        this holder claimed before), or None: another invocation answered or is answering."""
        try:
            claim = self._ledger().claim_answer(request, self._holder, body)
        except Exception:
            logger.exception("Request ledger unavailable; answering without a claim")
            return body
        if claim.outcome == AnswerClaim.GRANTED:
            return claim.body or body
        # Busy: another invocation answers (or Lambda's retry of it, or its hand-on, will).
        logger.info("Another invocation answers this request", extra={"claim": claim.outcome})
        return None

    def _remaining_seconds(self) -> float:
        return float(self._context.get_remaining_time_in_millis()) / 1000

    def _body(self, status: str | None, reason: str) -> dict[str, Any]:
        physical_id = (
            self.PhysicalResourceId
            or self._product_id
            or self._event.get("PhysicalResourceId")
            or self.generate_physical_id(self._event)
        )
        return {
            "Status": status or self.Status,
            "Reason": reason if status else self.Reason,
            "PhysicalResourceId": str(physical_id),
            "StackId": self.StackId,
            "RequestId": self.RequestId,
            "LogicalResourceId": self.LogicalResourceId,
            "NoEcho": self.NoEcho,
            "Data": self.Data if (status or self.Status) == SUCCESS else {},
        }


def _nothing_to_do(event: dict[str, Any], arrival: Arrival) -> str:
    """Why this delivery ends at once ("" if it goes on)."""
    if arrival.answered:
        return "Request already answered: this delivery is a duplicate, nothing to do"
    if carried_hop(event) < arrival.handed_on:
        # Lambda's retry of an invocation that timed out after its watchdog handed the request over:
        # the later hop carries on, and a second chain would double with every further timeout.
        return "Request already handed over to a later invocation: nothing to do"
    return ""


def _within_limit(body: dict[str, Any]) -> str:
    """The body as sent: as it is, or fitted to 4096 bytes (fitting.py) when it does not fit."""
    encoded = encoded_as_is(body)
    if encoded is None:
        from sc_plan_provider.runtime.fitting import fit_response  # noqa: PLC0415 - an answer over 4096 bytes only

        fitted, left_out = fit_response(body)
        if left_out:
            logger.warning("Outputs left out of the response to fit 4096 bytes", extra={"left_out": left_out})
        encoded = encode(fitted)
    return encoded.decode()
