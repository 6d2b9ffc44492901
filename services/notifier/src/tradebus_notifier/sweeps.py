"""`notifier.sweeps.run.v1`: the hourly sweep of what no TTL index expires (the list
and why is in tradebus_storage.sweeps). Idempotent: a second run of the same slot finds
nothing left to remove."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import Counter
from pymongo.asynchronous.database import AsyncDatabase

from tradebus_contracts import RunSweeps
from tradebus_messaging import MessageContext
from tradebus_storage.sweeps import prune_expired_secrets

log = structlog.get_logger("tradebus.notifier.sweeps")

SWEPT = Counter("tradebus_notifier_swept_total", "Records changed by sweeps.", ["what"])


class SweepsHandler:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._db = db

    async def __call__(self, command: RunSweeps, ctx: MessageContext) -> dict[str, int]:
        changed = await prune_expired_secrets(self._db, now=datetime.now(UTC))
        SWEPT.labels("expired_signing_secrets").inc(changed)
        log.info("sweeps done", slot=command.slot.isoformat(), expired_signing_secrets=changed)
        return {"expired_signing_secrets": changed}
