"""Which API keys exist, held in memory, so a request's key resolves without a database
round trip and a flood of made-up keys costs no query each.

The directory is a snapshot of every active key (digest -> tenant), reloaded in full every
`refresh_seconds`: a revoked key stops working within that bound. A key missing from the
snapshot may be new (created by the CLI or another replica a moment ago), so the request
waits for the next catch-up load (keys
created since the last one): one load at a time, at most one per `catch_up_seconds`,
shared by every request waiting on it. Unknown keys therefore cost at most one small
indexed query per interval, however many arrive, and a new key works on first use."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from .auth import OPERATOR, TENANT, Principal, digest

log = structlog.get_logger(__name__)

LOADS = Counter(
    "tradebus_gateway_key_loads_total",
    "Loads of the API-key directory from MongoDB (full snapshot, or catch-up after a miss).",
    ["kind"],
)

# Catch-up loads look this far behind the newest key seen: replicas' clocks differ, and a
# key written with an earlier `created_at` than one already seen must not be missed.
CLOCK_OVERLAP = timedelta(minutes=2)


class KeyDirectory:
    def __init__(
        self,
        db: AsyncDatabase[Any],
        *,
        refresh_seconds: float = 30.0,
        catch_up_seconds: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = db["api_keys"]
        self._refresh, self._catch_up_every = refresh_seconds, catch_up_seconds
        self._clock = clock
        self._principals: dict[str, Principal] = {}
        self._loaded_at: float | None = None
        self._newest: datetime | None = None  # the newest key's created_at seen
        self._loaded_wall = datetime.now(UTC)  # when the last full load started
        self._full: asyncio.Task[None] | None = None
        self._catch_up: asyncio.Task[None] | None = None
        self._caught_up_at = float("-inf")

    async def ensure_indexes(self) -> None:
        await self._keys.create_index([("created_at", ASCENDING)])

    def cached(self, api_key: str) -> Principal | None:
        """The key's principal from a fresh snapshot, with no await: None when the key is
        not in it or the snapshot is due for reload (then `resolve` it)."""
        if self._loaded_at is None or self._clock() - self._loaded_at >= self._refresh:
            return None
        return self._principals.get(digest(api_key))

    async def resolve(self, api_key: str) -> Principal | None:
        await self._fresh()
        key_id = digest(api_key)
        principal = self._principals.get(key_id)
        if principal is None:
            await self._caught_up()
            principal = self._principals.get(key_id)
        return principal

    def forget(self, key_id: str) -> None:
        """Drop a key revoked by this process now; other replicas drop it at their next
        full load (within `refresh_seconds`)."""
        self._principals.pop(key_id, None)

    def __len__(self) -> int:
        return len(self._principals)

    async def _fresh(self) -> None:
        stale = self._loaded_at is None or self._clock() - self._loaded_at >= self._refresh
        if not stale:
            return
        if self._full is None or self._full.done():
            self._full = asyncio.create_task(self._load_all())
        if self._loaded_at is None:  # nothing to answer from yet: wait for the first load
            await asyncio.shield(self._full)

    async def _caught_up(self) -> None:
        if self._catch_up is None or self._catch_up.done():
            self._catch_up = asyncio.create_task(self._load_new())
        await asyncio.shield(self._catch_up)

    async def _load_all(self) -> None:
        LOADS.labels("full").inc()
        started, wall = self._clock(), datetime.now(UTC)
        principals: dict[str, Principal] = {}
        newest: datetime | None = None
        async for doc in self._keys.find({"revoked": False}, _FIELDS):
            principals[doc["_id"]] = _principal(doc)
            newest = _later(newest, doc.get("created_at"))
        self._principals, self._newest = principals, newest
        self._loaded_at, self._loaded_wall = started, wall

    async def _load_new(self) -> None:
        wait = self._caught_up_at + self._catch_up_every - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)
        self._caught_up_at = self._clock()
        LOADS.labels("catch_up").inc()
        since = (self._newest or self._loaded_wall) - CLOCK_OVERLAP
        query = {"revoked": False, "created_at": {"$gte": since}}
        async for doc in self._keys.find(query, _FIELDS):
            self._principals[doc["_id"]] = _principal(doc)
            self._newest = _later(self._newest, doc.get("created_at"))


_FIELDS = {"tenant_id": 1, "created_at": 1, "role": 1, "label": 1}


def _principal(doc: dict[str, Any]) -> Principal:
    """A record without `role` is a tenant key (they predate roles)."""
    if doc.get("role") == OPERATOR:
        return Principal("", doc["_id"], OPERATOR, str(doc.get("label") or ""))
    return Principal(doc["tenant_id"], doc["_id"], TENANT, str(doc.get("label") or ""))


def _later(a: datetime | None, b: Any) -> datetime | None:
    if not isinstance(b, datetime):
        return a
    if b.tzinfo is None:  # BSON dates come back naive unless the client is tz-aware
        b = b.replace(tzinfo=UTC)
    return b if a is None or b > a else a
