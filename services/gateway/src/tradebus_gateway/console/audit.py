"""Console logins and logouts in the operator audit log (the gateway's `AuditLog`).

Imported lazily: the console works, and says so in its log, on a gateway without the
audit module."""

from __future__ import annotations

from typing import Any, Literal

import structlog
from pymongo.asynchronous.database import AsyncDatabase

log = structlog.get_logger(__name__)


async def record(
    db: AsyncDatabase[Any],
    *,
    key_id: str,
    label: str,
    action: str,
    outcome: Literal["ok", "refused", "failed"] = "ok",
    details: dict[str, Any] | None = None,
) -> bool:
    """True once the record is written; False when the gateway has no audit log."""
    try:
        from tradebus_gateway.operator.audit import AuditLog
    except ImportError:
        log.warning("console.audit_unavailable", action=action, key_id=key_id[:12])
        return False
    await AuditLog(db).record(key_id, label, action, "console", details, outcome)
    return True
