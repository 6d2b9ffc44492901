"""Reading the alert signals: MongoDB for what services record, AMQP for the queues.

- `retrieval_stats` (dealbrain): one document per (tenant_id, minute) with `asks` and
  `empty` counts; a window is summed per tenant.
- `tasks` (libs/storage): tasks that finished (succeeded or failed) in the window, per
  kind; cancelled ones are neither.
- `rag_quality` (dealbrain's recall evaluation): {tenant_id, at, k, recall_at_k, mrr,
  samples}; the latest per tenant. An empty or absent collection reads as no tenants.
- Queues: a passive declare of `<queue>` and `<queue>.dlq` answers ready messages and
  consumers without the management API, and without touching a message (a `basic.get`
  peek would bump a quorum queue's delivery count). A fair endpoint's backlog sits in its
  lanes (`<queue>.sNN`, `<queue>.bulk`): its ready count is theirs summed."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from aio_pika.exceptions import ChannelNotFoundEntity
from pymongo.asynchronous.database import AsyncDatabase

from tradebus_messaging.fairness import lane_queues
from tradebus_messaging.topology import parking_queue

from ..domain.alert_rules import Counts, RecallReading


class MongoSignals:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._stats = db["retrieval_stats"]
        self._tasks = db["tasks"]
        self._quality = db["rag_quality"]

    async def retrieval(self, since: datetime) -> dict[str, Counts]:
        """(asks, empty) per tenant from the minute of `since` on."""
        minute = since.replace(second=0, microsecond=0)
        pipeline: list[dict[str, Any]] = [
            {"$match": {"minute": {"$gte": minute}}},
            {
                "$group": {
                    "_id": "$tenant_id",
                    "asks": {"$sum": "$asks"},
                    "empty": {"$sum": "$empty"},
                }
            },
        ]
        out = {}
        async for doc in await self._stats.aggregate(pipeline):
            if doc["_id"] is not None:
                out[str(doc["_id"])] = Counts(int(doc["asks"] or 0), int(doc["empty"] or 0))
        return out

    async def task_outcomes(self, since: datetime) -> dict[str, Counts]:
        """(finished, failed) per task kind, finished since `since`."""
        pipeline: list[dict[str, Any]] = [
            # `updated_at` leads so the (status, updated_at) index serves the match.
            {
                "$match": {
                    "status": {"$in": ["succeeded", "failed"]},
                    "updated_at": {"$gte": since},
                    "finished_at": {"$gte": since},
                }
            },
            {
                "$group": {
                    "_id": "$kind",
                    "total": {"$sum": 1},
                    "failed": {"$sum": {"$cond": [{"$eq": ["$status", "failed"]}, 1, 0]}},
                }
            },
        ]
        out = {}
        async for doc in await self._tasks.aggregate(pipeline):
            out[str(doc["_id"])] = Counts(int(doc["total"]), int(doc["failed"]))
        return out

    async def latest_recall(self) -> dict[str, RecallReading]:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"tenant_id": {"$type": "string"}, "recall_at_k": {"$type": "number"}}},
            {"$sort": {"at": -1}},
            {"$group": {"_id": "$tenant_id", "doc": {"$first": "$$ROOT"}}},
        ]
        out = {}
        async for row in await self._quality.aggregate(pipeline):
            d = row["doc"]
            at = d.get("at")
            if not isinstance(at, datetime):
                continue
            out[str(row["_id"])] = RecallReading(
                at=at if at.tzinfo else at.replace(tzinfo=UTC),
                k=int(d.get("k") or 0),
                recall_at_k=float(d["recall_at_k"]),
                samples=int(d.get("samples") or 0),
            )
        return out


class AmqpQueueProbe:
    """Ready messages and consumers of work queues and their parking lots. Its own
    connection (a probe must not share a channel with consumers: a passive declare of a
    missing queue closes its channel)."""

    def __init__(self, url: str, *, fair_shards: int = 0) -> None:
        self._url = url
        self._fair_shards = fair_shards  # every process uses the same count (BusSettings)
        self._connection: AbstractRobustConnection | None = None
        self._lock = asyncio.Lock()

    async def read(self, queues: list[str]) -> dict[str, tuple[bool, int, int, int | None]]:
        """Per queue: (exists, ready, consumers, parked or None without a parking lot)."""
        connection = await self._connect()
        out: dict[str, tuple[bool, int, int, int | None]] = {}
        for queue in queues:
            work = await self._declare(connection, queue)
            lot = await self._declare(connection, parking_queue(queue))
            ready = work[0] if work else 0
            if work is not None and self._fair_shards:
                ready += await self._lanes_ready(connection, queue)
            out[queue] = (
                work is not None,
                ready,
                work[1] if work else 0,
                lot[0] if lot else None,
            )
        return out

    async def _lanes_ready(self, connection: AbstractRobustConnection, queue: str) -> int:
        """Ready messages in a fair endpoint's lanes; 0 at once for any other queue (it
        has no bulk lane, the lane every fair endpoint declares)."""
        *shards, bulk = lane_queues(queue, self._fair_shards)
        found = await self._declare(connection, bulk)
        if found is None:
            return 0
        ready = found[0]
        for lane in shards:
            shard = await self._declare(connection, lane)
            ready += shard[0] if shard else 0
        return ready

    async def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None

    async def _connect(self) -> AbstractRobustConnection:
        async with self._lock:
            if self._connection is None or self._connection.is_closed:
                self._connection = await aio_pika.connect_robust(
                    self._url, client_properties={"connection_name": "notifier alert probe"}
                )
            return self._connection

    @staticmethod
    async def _declare(connection: AbstractRobustConnection, name: str) -> tuple[int, int] | None:
        channel = await connection.channel(publisher_confirms=False)
        try:
            declared = await channel.declare_queue(name, passive=True)
        except ChannelNotFoundEntity:
            return None
        finally:
            with contextlib.suppress(Exception):
                await channel.close()
        result = declared.declaration_result
        return int(result.message_count or 0), int(result.consumer_count or 0)
