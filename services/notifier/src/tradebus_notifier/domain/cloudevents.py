"""The webhook body: the event in CloudEvents 1.0 JSON structured mode."""

from __future__ import annotations

import json
from typing import Any

from tradebus_contracts import Contract, Envelope


def cloud_event(envelope: Envelope, payload: Contract) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": envelope.specversion,
        "id": envelope.id,
        "source": envelope.source,
        "type": envelope.type,
        "time": envelope.time.isoformat(),
        "datacontenttype": "application/json",
    }
    if envelope.subject:
        event["subject"] = envelope.subject
    if envelope.tenant_id:
        event["tenantid"] = envelope.tenant_id
    event["data"] = payload.model_dump(mode="json")
    return event


def encode(event: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are signed and sent."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
