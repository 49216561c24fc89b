"""Properties the provider does not read: a typo fails the request instead of deploying silently.

`PolingIntervalSeconds: 2` used to deploy with the default polling and one warning in the
function's log; `PlanID` for `PlanId` got a "PlanId is required" that did not say why. A request
with a property the provider does not read now fails before any Service Catalog call, naming each
such property and the closest one it reads (docs/behaviour.md#unknown-properties). Two exceptions,
both logged: `IgnoreUnknownProperties: "true"` (for templates that carry extra properties on
purpose, or were deployed before this check), and an Update while its stack rolls back (the
rollback carries the properties the stack had before; refusing them would leave the stack
UPDATE_ROLLBACK_FAILED). Loaded only when a request carries such a property.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from sc_plan_provider.properties.resource import IGNORE_UNKNOWN_PROPERTIES, KNOWN_PROPERTIES

if TYPE_CHECKING:
    from collections.abc import Sequence

# difflib's similarity ratio a known name must reach to be suggested (its own default).
SUGGESTION_CUTOFF = 0.6


def unknown_properties_reason(names: Sequence[str]) -> str:
    """The FAILED reason: each name with its closest known property, and the two ways out."""
    shown = ", ".join(_with_suggestion(name) for name in names)
    noun = "property" if len(names) == 1 else "properties"
    return (
        f"Unknown {noun} {shown}: the provider does not read {'it' if len(names) == 1 else 'them'}, and nothing "
        f"was changed. Fix the name (the properties are listed in the README), or, to keep properties the "
        f'provider does not read, set {IGNORE_UNKNOWN_PROPERTIES}: "true".'
    )


def closest_known(name: str) -> str | None:
    """The known property `name` most likely means: the same name in another case, else the most
    similar one (None when nothing is close)."""
    by_case = {known.lower(): known for known in KNOWN_PROPERTIES}
    if name.lower() in by_case:
        return by_case[name.lower()]
    close = difflib.get_close_matches(name, KNOWN_PROPERTIES, n=1, cutoff=SUGGESTION_CUTOFF)
    return close[0] if close else None


def _with_suggestion(name: str) -> str:
    shown = name[:100]
    suggestion = closest_known(name)
    return f"{shown} (did you mean {suggestion}?)" if suggestion else shown
