"""Pure parts of the overview: queue kinds, rates, services by name prefix, alerts."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from tradebus_messaging.queue_stats import sampled
from tradebus_messaging.topology import DLX

QueueKind = Literal["work", "parking", "rpc", "other"]


def kind_of(name: str, arguments: Mapping[str, Any], names: set[str]) -> QueueKind:
    if name.endswith(".dlq"):
        return "parking"
    if arguments.get("x-dead-letter-exchange") == DLX:
        return "work"
    if f"{name}.dlq" in names:  # a lot but no broker dead-lettering: an RPC queue
        return "rpc"
    return "other"


def queue_rows(rows: Iterable[Mapping[str, Any]], now: float | None = None) -> list[dict[str, Any]]:
    now = time.time() if now is None else now
    kept = [r for r in rows if sampled(r)]
    names = {str(r["name"]) for r in kept}
    out = []
    for row in sorted(kept, key=lambda r: str(r["name"])):
        stats = row.get("message_stats") or {}
        ready = int(row.get("messages_ready") or 0)
        head = row.get("head_message_timestamp")
        age = max(0.0, now - float(head)) if isinstance(head, int | float) and ready else None
        out.append(
            {
                "name": str(row["name"]),
                "kind": kind_of(str(row["name"]), row.get("arguments") or {}, names),
                "ready": ready,
                "unacked": int(row.get("messages_unacknowledged") or 0),
                "consumers": int(row.get("consumers") or 0),
                "publish_rate": _rate(stats, "publish_details"),
                "deliver_rate": _rate(stats, "deliver_get_details"),
                "oldest_age_seconds": age,
            }
        )
    return out


def services(queues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Grouped by the queue-name prefix before the first "."; the shared exchanges'
    queues (`tradebus.*`) are the platform's, not a service's."""
    grouped: dict[str, dict[str, Any]] = {}
    for q in queues:
        prefix = q["name"].split(".", 1)[0]
        if prefix == "tradebus":
            continue
        service = grouped.setdefault(prefix, {"name": prefix, "consumers": 0, "queues": []})
        service["queues"].append(q["name"])
        if q["kind"] != "parking":
            service["consumers"] += q["consumers"]
    return [grouped[name] for name in sorted(grouped)]


def alert_item(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """An alert document (the notifier's `alert_states`) as the overview shows it:
    firing (or clearing, which is still firing), or resolved; pending ones are not
    alerts yet."""
    phase = doc.get("phase")
    if phase in ("firing", "clearing"):
        state, since = "firing", doc.get("raised_at") or doc.get("started_at")
    elif phase == "ok":
        state, since = "resolved", doc.get("updated_at")
    else:
        return None
    subject = doc.get("subject") or ""
    value = doc.get("value")
    summary = f"{doc.get('rule')} on {subject or 'the platform'}"
    if isinstance(value, int | float):
        summary += f": {value:g} (threshold {float(doc.get('threshold') or 0):g})"
    return {
        "rule": str(doc.get("rule") or ""),
        "state": state,
        "since": since if isinstance(since, datetime) else None,
        "summary": summary,
        "subject": subject,
        "severity": doc.get("severity"),
    }


def _rate(stats: Mapping[str, Any], key: str) -> float:
    details = stats.get(key) or {}
    return float(details.get("rate") or 0.0)
