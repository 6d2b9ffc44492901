"""What admission judges: the tasks of one kind accepted and not finished (every stage:
queued, running, retrying), per tenant, and how many finished lately (the drain).
One aggregate and one count per sample, both on indexes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from .task_model import ACTIVE


@dataclass(frozen=True, slots=True)
class BacklogSample:
    unfinished: dict[str, int]  # tenant -> accepted and not finished
    finished: int  # finished (any outcome) since the sample's `since`

    @property
    def total(self) -> int:
        return sum(self.unfinished.values())


class TaskBacklog:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._c = db["tasks"]

    async def ensure_indexes(self) -> None:
        await self._c.create_index(
            [("kind", ASCENDING), ("status", ASCENDING), ("tenant_id", ASCENDING)]
        )
        await self._c.create_index([("kind", ASCENDING), ("finished_at", ASCENDING)])

    async def sample(self, kind: str, *, since: datetime) -> BacklogSample:
        pipeline = [
            {"$match": {"kind": kind, "status": {"$in": ACTIVE}}},
            {"$group": {"_id": "$tenant_id", "n": {"$sum": 1}}},
        ]
        unfinished = {row["_id"]: int(row["n"]) async for row in await self._c.aggregate(pipeline)}
        finished = await self._c.count_documents({"kind": kind, "finished_at": {"$gte": since}})
        return BacklogSample(unfinished, finished)
