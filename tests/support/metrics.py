"""What CloudWatch would make of the function's EMF log lines: the documents, and whether an alarm's
metric is fed by one (same namespace, name and exact dimension set)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local_cloud.cloud import LocalCloud

__all__ = ["emf_documents", "listed", "watches"]


def watches(alarm: dict[str, Any], document: dict[str, Any]) -> bool:
    """Whether CloudWatch would feed this EMF document into the alarm's metric: same namespace, name
    and exact dimension set (names and values)."""
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    return any(
        directive["Namespace"] == alarm["Namespace"]
        and alarm["MetricName"] in {m["Name"] for m in directive["Metrics"]}
        and sorted(dimensions) in [sorted(names) for names in directive["Dimensions"]]
        and all(document.get(name) == value for name, value in dimensions.items())
        for directive in document["_aws"]["CloudWatchMetrics"]
    )


def emf_documents(cloud: LocalCloud) -> list[dict[str, Any]]:
    """The EMF documents in the function's log (what CloudWatch Logs turns into metrics)."""
    documents = []
    for record in cloud.function.logs:
        text = record.text.strip()
        if text.startswith("{") and '"_aws"' in text:
            documents.append(json.loads(text))
    return documents


def listed(value: Any) -> list[float]:
    return [float(v) for v in value] if isinstance(value, list) else [float(value)]
