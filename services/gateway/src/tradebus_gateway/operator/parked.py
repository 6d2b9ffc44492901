"""Pure parts of the parking-lot views: which queues are parking lots, how parked
messages group, and how one reads as JSON (headers made printable, body previewed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from tradebus_messaging.parking import ParkedMessage
from tradebus_messaging.topology import DELAY_PREFIX, parking_queue

LOT_SUFFIX = ".dlq"
PREVIEW_BYTES = 2048
MAX_HEADER_TEXT = 2000
TENANT_HEADER = "cloudEvents:tenantid"
TASK_HEADER = "cloudEvents:taskid"


def source_of(lot: str) -> str:
    """The endpoint whose failures the lot holds (`omnirag-ingest.ingest.dlq` ->
    `omnirag-ingest.ingest`)."""
    return lot[: -len(LOT_SUFFIX)]


def known_lots(live_names: Iterable[str], declared_endpoints: Sequence[str]) -> list[str]:
    """The parking lots an operator may touch: those of the declared endpoints, and any
    other `<endpoint>.dlq` that exists on the broker. Nothing else reaches the broker."""
    live = set(live_names)
    lots = {parking_queue(e) for e in declared_endpoints}
    lots |= {n for n in live if n.endswith(LOT_SUFFIX) and not n.startswith((DELAY_PREFIX, "amq."))}
    return sorted(lot for lot in lots if lot in live)


def groups(parked: Iterable[ParkedMessage]) -> list[dict[str, Any]]:
    """Counts by (reason, exception type), largest first, then by name."""
    counts = Counter((p.reason, p.exception_type) for p in parked)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{"reason": r, "exception": e, "count": n} for (r, e), n in ordered]


def printable(value: Any) -> Any:
    """A header value as JSON: bytes decoded (with replacement), dates as ISO text,
    long text cut."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value if len(value) <= MAX_HEADER_TEXT else value[:MAX_HEADER_TEXT] + "…"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable(v) for v in value]
    return str(value)


def preview(body: bytes) -> str:
    """At most 2 KiB of the body, decoded with replacement (a cut character included)."""
    return body[:PREVIEW_BYTES].decode("utf-8", errors="replace")


def item(p: ParkedMessage) -> dict[str, Any]:
    headers = printable(p.headers)
    return {
        "message_id": p.message_id,
        "type": p.message_type,
        "tenant_id": _text(headers.get(TENANT_HEADER)),
        "task_id": _text(headers.get(TASK_HEADER)),
        "reason": p.reason,
        "exception": p.exception_type,
        "message": p.exception_message[:MAX_HEADER_TEXT],
        "parked_at": p.last_failure_at or _death_time(headers),
        "attempts": p.attempts,
        "headers": headers,
        "body_preview": preview(p.body),
    }


def _death_time(headers: Mapping[str, Any]) -> str | None:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        time = deaths[0].get("time")
        return None if time is None else str(time)
    return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
