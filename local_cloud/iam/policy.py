"""Identity-based policies evaluated as IAM evaluates them for a principal acting in its own account.

Sources (IAM User Guide):
- "Policy evaluation logic" and "Policy evaluation for requests within a single account"
  (reference_policies_evaluation-logic*.html): an explicit ``Deny`` in any applicable statement wins;
  otherwise at least one applicable ``Allow`` allows; otherwise the request is implicitly denied.
- "IAM JSON policy elements: Action" (reference_policies_elements_action.html): ``service:Action``;
  "The prefix and the action name are case insensitive"; ``*`` and ``?`` wildcards. ``NotAction``
  applies a statement to every action except those listed (..._notaction.html).
- "IAM JSON policy elements: Resource" (..._resource.html): ARNs with ``*`` (any characters) and ``?``
  (one character) within a colon-separated segment; "If the * wildcard is the last character of a
  resource ARN segment, it can expand to match beyond the colon boundaries". Resources are case
  sensitive. ``NotResource`` applies a statement to every resource except those listed.
- "IAM JSON policy elements: Condition operators" (..._condition_operators.html): every operator
  block and every key in it must match (AND), any of a key's values may match (OR); a negated
  operator (``StringNotEquals``...) matches when the value equals none of them.

What this engine does not understand never grants by accident: a condition with an operator or key
outside ``CONDITION_OPERATORS``/the request's keys makes an ``Allow`` statement not apply and a ``Deny``
statement apply (and logs a warning), and policy variables (``${aws:username}``) are refused when
the policy is read.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

__all__ = [
    "CONDITION_OPERATORS",
    "Decision",
    "Evaluation",
    "PolicyError",
    "PolicySet",
    "Statement",
    "action_matches",
    "resource_matches",
]

_LOG = logging.getLogger(__name__)

Effect = Literal["Allow", "Deny"]
Decision = Literal["allow", "explicit_deny", "implicit_deny"]


class PolicyError(ValueError):
    """A policy document IAM would refuse, or one this engine cannot evaluate faithfully."""


@cache
def _action_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE)  # '*' any run, '?' one character


def action_matches(pattern: str, action: str) -> bool:
    """``dynamodb:Get*`` matches ``DynamoDB:GetItem``: prefix and name are case insensitive."""
    return _action_pattern(pattern).fullmatch(action) is not None


@cache
def _resource_pattern(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    for index, char in enumerate(pattern):
        if char == "*":
            ends_segment = index + 1 == len(pattern) or pattern[index + 1] == ":"
            parts.append(".*" if ends_segment else "[^:]*")
        elif char == "?":
            parts.append("[^:]")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts))


def resource_matches(pattern: str, resource: str) -> bool:
    """Case-sensitive ARN match; a ``*`` ending a segment may span colons, any other stays inside one.

    So ``arn:aws:lambda:us-east-1:123456789012:function:f`` does not match the qualified
    ``...:function:f:live``, while ``...:function:f*`` and ``...:function:f:*`` do.
    """
    return _resource_pattern(pattern).fullmatch(resource) is not None


# Condition operators this engine evaluates: name -> (value test, negated). The ``Arn`` operators
# compare like ``String`` ones here: both sides are full ARNs (segment-wise wildcards as in Resource).
_Test = Callable[[str, str], bool]
CONDITION_OPERATORS: dict[str, tuple[_Test, bool]] = {
    "StringEquals": (lambda expected, actual: expected == actual, False),
    "StringNotEquals": (lambda expected, actual: expected == actual, True),
    "StringEqualsIgnoreCase": (lambda expected, actual: expected.lower() == actual.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda expected, actual: expected.lower() == actual.lower(), True),
    "StringLike": (lambda expected, actual: fnmatch.fnmatchcase(actual, expected), False),
    "StringNotLike": (lambda expected, actual: fnmatch.fnmatchcase(actual, expected), True),
    "ArnEquals": (lambda expected, actual: expected == actual, False),
    "ArnNotEquals": (lambda expected, actual: expected == actual, True),
    "ArnLike": (resource_matches, False),
    "ArnNotLike": (resource_matches, True),
}


@dataclass(frozen=True)
class Statement:
    """One statement of a policy, read from its JSON form; ``source`` names it in errors and logs."""

    effect: Effect
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    source: str
    not_action: bool = False
    not_resource: bool = False
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Any, source: str) -> Statement:
        """Validate one statement as IAM does for identity-based policies, or raise PolicyError."""
        if not isinstance(raw, dict):
            raise PolicyError(f"{source}: a statement must be a JSON object, got {raw!r}")
        sid = raw.get("Sid")
        if isinstance(sid, str) and sid:
            source = f"{source} (Sid {sid})"
        effect = raw.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"{source}: Effect must be Allow or Deny, got {effect!r}")
        if "Principal" in raw or "NotPrincipal" in raw:
            raise PolicyError(f"{source}: an identity-based policy has no Principal (IAM refuses it)")
        actions, not_action = _one_of(raw, "Action", "NotAction", source)
        resources, not_resource = _one_of(raw, "Resource", "NotResource", source)
        for value in (*actions, *resources):
            if "${" in value:
                raise PolicyError(f"{source}: policy variable in {value!r} is not evaluated locally")
        return cls(
            effect=effect,
            actions=actions,
            resources=resources,
            source=source,
            not_action=not_action,
            not_resource=not_resource,
            conditions=_conditions(raw.get("Condition"), source),
        )

    def covers(self, action: str, resource: str) -> bool:
        """Whether Action/NotAction and Resource/NotResource put the request under this statement."""
        action_listed = any(action_matches(pattern, action) for pattern in self.actions)
        resource_listed = any(resource_matches(pattern, resource) for pattern in self.resources)
        return action_listed != self.not_action and resource_listed != self.not_resource

    def conditions_hold(self, keys: Mapping[str, str]) -> bool | None:
        """True/False when every condition could be evaluated; None when one could not."""
        for operator, block in self.conditions.items():
            known = CONDITION_OPERATORS.get(operator)
            if known is None:
                return None
            test, negated = known
            for key, expected in block.items():
                actual = keys.get(key.lower())
                if actual is None:
                    return None
                matched = any(test(value, actual) for value in expected)
                if matched == negated:
                    return False
        return True


def _one_of(raw: dict[str, Any], positive: str, negative: str, source: str) -> tuple[tuple[str, ...], bool]:
    """Exactly one of ``Action``/``NotAction`` (or ``Resource``/``NotResource``), as strings."""
    if (positive in raw) == (negative in raw):
        raise PolicyError(f"{source}: a statement needs exactly one of {positive} or {negative}")
    key = positive if positive in raw else negative
    value = raw[key]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise PolicyError(f"{source}: {key} must be a non-empty string or list of strings, got {value!r}")
    return tuple(values), key == negative


def _conditions(raw: Any, source: str) -> dict[str, dict[str, tuple[str, ...]]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: Condition must be an object, got {raw!r}")
    parsed: dict[str, dict[str, tuple[str, ...]]] = {}
    for operator, block in raw.items():
        if not isinstance(block, dict):
            raise PolicyError(f"{source}: Condition {operator} must map keys to values, got {block!r}")
        parsed[operator] = {}
        for key, values in block.items():
            listed = values if isinstance(values, list) else [values]
            parsed[operator][key] = tuple(str(v).lower() if isinstance(v, bool) else str(v) for v in listed)
    return parsed


@dataclass(frozen=True)
class Evaluation:
    """The decision on one request, and the statement that decided it (None for an implicit deny)."""

    decision: Decision
    action: str
    resource: str
    statement: Statement | None = None

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"


class PolicySet:
    """Every statement of every identity-based policy attached to one principal."""

    def __init__(self, statements: Iterable[Statement] = ()) -> None:
        self.statements = tuple(statements)

    @classmethod
    def from_documents(cls, documents: Iterable[tuple[str, Any]]) -> PolicySet:
        """From ``(name, PolicyDocument)`` pairs; ``Statement`` may be one object or a list."""
        statements: list[Statement] = []
        for name, document in documents:
            if not isinstance(document, dict) or "Statement" not in document:
                raise PolicyError(f"{name}: a policy document needs a Statement, got {document!r}")
            raw = document["Statement"]
            for index, each in enumerate(raw if isinstance(raw, list) else [raw]):
                statements.append(Statement.parse(each, f"{name} statement {index}"))
        return cls(statements)

    def evaluate(self, action: str, resources: Sequence[str], keys: Mapping[str, str] | None = None) -> Evaluation:
        """Decide a request on every resource it names (a batch call needs each); the first refusal wins.

        ``keys`` are the request's condition keys (any case), e.g. ``aws:RequestedRegion``.
        """
        lowered = {key.lower(): value for key, value in (keys or {}).items()}
        evaluation = Evaluation("implicit_deny", action, "*")
        for resource in resources or ("*",):
            evaluation = self._evaluate_one(action, resource, lowered)
            if not evaluation.allowed:
                return evaluation
        return evaluation

    def _evaluate_one(self, action: str, resource: str, keys: Mapping[str, str]) -> Evaluation:
        allowing: Statement | None = None
        for statement in self.statements:
            if not statement.covers(action, resource):
                continue
            holds = statement.conditions_hold(keys)
            if holds is None:
                _LOG.warning(
                    "%s: condition %s not understood locally; the statement %s",
                    statement.source,
                    dict(statement.conditions),
                    "applies (fail closed)" if statement.effect == "Deny" else "does not apply",
                )
                holds = statement.effect == "Deny"
            if not holds:
                continue
            if statement.effect == "Deny":
                return Evaluation("explicit_deny", action, resource, statement)
            allowing = allowing or statement
        if allowing is not None:
            return Evaluation("allow", action, resource, allowing)
        return Evaluation("implicit_deny", action, resource)
