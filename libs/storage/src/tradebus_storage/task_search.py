"""Task queries across tenants, for operators only (the gateway's operator routes).
Everything tenant-facing goes through `TaskRepository`, which is scoped by tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from tradebus_contracts import TaskStatus

from .task_model import Task


@dataclass(frozen=True, slots=True)
class TaskFilter:
    tenant_id: str | None = None
    kind: str | None = None
    status: TaskStatus | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    def query(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.tenant_id is not None:
            query["tenant_id"] = self.tenant_id
        if self.kind is not None:
            query["kind"] = self.kind
        if self.status is not None:
            query["status"] = self.status.value
        created: dict[str, datetime] = {}
        if self.created_after is not None:
            created["$gt"] = self.created_after
        if self.created_before is not None:
            created["$lt"] = self.created_before
        if created:
            query["created_at"] = created
        return query


class TaskSearch:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._c = db["tasks"]

    async def page(
        self, filters: TaskFilter, *, after: str | None = None, limit: int = 50
    ) -> tuple[list[Task], str | None]:
        """Newest first (ids are creation-time ordered); `after` is the previous page's
        last id. Returns the page and the id to continue after, if more match."""
        query = filters.query()
        if after is not None:
            query["_id"] = {"$lt": after}
        docs = await self._c.find(query).sort("_id", DESCENDING).limit(limit + 1).to_list()
        tasks = [Task.from_doc(d) for d in docs[:limit]]
        return tasks, (tasks[-1].id if len(docs) > limit else None)

    async def get(self, task_id: str) -> Task | None:
        doc = await self._c.find_one({"_id": task_id})
        return Task.from_doc(doc) if doc else None

    async def usage(self, tenant_id: str, since: datetime) -> dict[str, int]:
        """Tasks created since `since`, counted by status."""
        pipeline = [
            {"$match": {"tenant_id": tenant_id, "created_at": {"$gte": since}}},
            {"$group": {"_id": "$status", "count": {"$sum": 1}}},
        ]
        cursor = await self._c.aggregate(pipeline)
        return {str(d["_id"]): int(d["count"]) async for d in cursor}

    async def recent_failures(self, tenant_id: str, *, limit: int = 5) -> list[Task]:
        query = {"tenant_id": tenant_id, "status": TaskStatus.FAILED.value}
        docs = await self._c.find(query).sort("_id", DESCENDING).limit(limit).to_list()
        return [Task.from_doc(d) for d in docs]
