"""Per-tenant, per-minute retrieval counters in MongoDB (`retrieval_stats`).

One document per (tenant_id, minute) with `asks` and `empty` counts, so an alert rule
(the notifier's empty-recall rate) can sum a window without Prometheus:
`find({"tenant_id": t, "minute": {"$gte": since}})`. Expired by a TTL index."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


class MongoRetrievalStats:
    def __init__(self, db: AsyncDatabase[Any], *, retention_days: int = 14) -> None:
        self._stats = db["retrieval_stats"]
        self._retention = timedelta(days=retention_days)

    async def ensure_indexes(self) -> None:
        await self._stats.create_index(
            [("tenant_id", ASCENDING), ("minute", ASCENDING)], unique=True
        )
        await self._stats.create_index([("minute", ASCENDING)])
        await self._stats.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0)

    async def record(self, tenant_id: str, *, empty: bool, at: datetime) -> None:
        minute = minute_of(at)
        update = {
            "$inc": {"asks": 1, "empty": 1 if empty else 0},
            "$setOnInsert": {"expires_at": minute + self._retention},
        }
        query = {"tenant_id": tenant_id, "minute": minute}
        try:
            await self._stats.update_one(query, update, upsert=True)
        except DuplicateKeyError:  # two first asks of a minute raced to insert
            await self._stats.update_one(query, update, upsert=True)

    async def window(self, tenant_id: str, since: datetime) -> tuple[int, int]:
        """(asks, empty) of the tenant since `since` (inclusive of its minute)."""
        asks = empty = 0
        cursor = self._stats.find(
            {"tenant_id": tenant_id, "minute": {"$gte": minute_of(since)}},
            {"asks": 1, "empty": 1},
        )
        async for doc in cursor:
            asks += int(doc.get("asks", 0))
            empty += int(doc.get("empty", 0))
        return asks, empty
