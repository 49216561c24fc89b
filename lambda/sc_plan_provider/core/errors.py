"""The failures the lifecycle raises, each carrying what the FAILED answer needs."""

from __future__ import annotations


class ResourceFailure(Exception):  # noqa: N818 - it is an outcome (a FAILED answer), not a crash
    """Answer FAILED with this reason.

    `physical_resource_id` is set when a provisioned product exists, so that CloudFormation's
    rollback Delete of a failed Create finds it and terminates it (AWS-FACTS: crhelper otherwise
    invents a random id and the product leaks). None keeps the id from the request.
    """

    def __init__(self, reason: str, physical_resource_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.physical_resource_id = physical_resource_id


class DeadlineExceededError(Exception):
    """A wait ran out of time; `last_status` is what Service Catalog said last."""

    def __init__(self, what: str, last_status: str, deadline_reason: str) -> None:
        super().__init__(f"{what} was still {last_status} when {deadline_reason}")
        self.last_status = last_status


class ContinuationNeeded(Exception):  # noqa: N818 - a control-flow signal, not an error
    """This invocation's own deadline is near and the request is not done: hand it over."""

    def __init__(self, what: str, last_status: str) -> None:
        super().__init__(f"{what} is still {last_status}")
