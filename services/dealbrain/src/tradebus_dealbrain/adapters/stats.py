"""Per-tenant, per-minute retrieval counters in MongoDB (`retrieval_stats`).

One document per (tenant_id, minute) with `asks` and `empty` counts, so an alert rule
(the notifier's empty-recall rate) can sum a window without Prometheus:
`find({"tenant_id": t, "minute": {"$gte": since}})`. Expired by a TTL index."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import structlog
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
        await self.add(tenant_id, minute_of(at), asks=1, empty=1 if empty else 0)

    async def add(self, tenant_id: str, minute: datetime, *, asks: int, empty: int) -> None:
        update = {
            "$inc": {"asks": asks, "empty": empty},
            "$setOnInsert": {"expires_at": minute + self._retention},
        }
        query = {"tenant_id": tenant_id, "minute": minute}
        try:
            await self._stats.update_one(query, update, upsert=True)
        except DuplicateKeyError:  # two first writes of a minute raced to insert
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


log = structlog.get_logger(__name__)


class BufferedRetrievalStats:
    """Counts asks in memory and writes them every `flush_seconds`, one `$inc` per
    (tenant, minute): an ask never waits on the database for a statistic, and a busy
    database (a bulk ingest) sees a handful of writes instead of one per ask. A crash
    loses at most one interval of counts, which an alert over a window tolerates."""

    def __init__(self, store: MongoRetrievalStats, *, flush_seconds: float = 5.0) -> None:
        self._store = store
        self._flush_seconds = flush_seconds
        self._asks: Counter[tuple[str, datetime]] = Counter()
        self._empty: Counter[tuple[str, datetime]] = Counter()
        self._task: asyncio.Task[None] | None = None

    async def record(self, tenant_id: str, *, empty: bool, at: datetime) -> None:
        key = (tenant_id, minute_of(at))
        self._asks[key] += 1
        if empty:
            self._empty[key] += 1
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="retrieval-stats-flush")

    async def flush(self) -> None:
        asks, empty = self._asks, self._empty
        self._asks, self._empty = Counter(), Counter()
        for key, count in asks.items():
            try:
                await self._store.add(*key, asks=count, empty=empty[key])
            except Exception as exc:  # keep the counts for the next flush
                self._asks[key] += count
                self._empty[key] += empty[key]
                log.warning("retrieval stats not flushed", error=repr(exc))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_seconds)
            await self.flush()
