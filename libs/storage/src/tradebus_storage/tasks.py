"""Task state (DESIGN.md section 5): tenant-scoped, compare-and-set transitions,
terminal states never regress, results expire by TTL."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from tradebus_contracts import Progress, TaskError, TaskStatus, TaskStatusChanged

S = TaskStatus
TERMINAL = frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED})
ALLOWED: dict[TaskStatus, frozenset[TaskStatus]] = {
    S.QUEUED: frozenset({S.RUNNING, S.FAILED, S.CANCELLED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.RETRYING, S.CANCELLED}),
    S.RETRYING: frozenset({S.RUNNING, S.FAILED, S.CANCELLED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}


def can_transition(source: TaskStatus, target: TaskStatus) -> bool:
    return target in ALLOWED[source]


def sources_of(target: TaskStatus) -> list[str]:
    """Every status a task may move to `target` from."""
    return [s.value for s, targets in ALLOWED.items() if target in targets]


def new_task_id() -> str:
    """32 hex chars, creation-time ordered (ms prefix), so paging by id is newest first."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


class Task(BaseModel):
    id: str
    tenant_id: str
    kind: str
    status: TaskStatus
    progress: Progress = Field(default_factory=Progress)
    attempts: int = 0
    error: TaskError | None = None
    result: dict[str, Any] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    published_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def status_event(self, previous: TaskStatus | None = None) -> TaskStatusChanged:
        return TaskStatusChanged(
            task_id=self.id,
            tenant_id=self.tenant_id,
            task_kind=self.kind,
            status=self.status,
            previous_status=previous,
            progress=self.progress,
            error=self.error,
            occurred_at=self.updated_at,
        )

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Task:
        return cls.model_validate({**doc, "id": doc["_id"]})


class TaskRepository:
    def __init__(
        self, db: AsyncDatabase[Any], *, result_ttl: timedelta = timedelta(days=7)
    ) -> None:
        self._c = db["tasks"]
        self._result_ttl = result_ttl

    async def ensure_indexes(self) -> None:
        await self._c.create_index(
            [("tenant_id", ASCENDING), ("idempotency_key", ASCENDING)],
            unique=True,
            partialFilterExpression={"idempotency_key": {"$type": "string"}},
        )
        await self._c.create_index([("tenant_id", ASCENDING), ("_id", DESCENDING)])
        await self._c.create_index([("status", ASCENDING), ("updated_at", ASCENDING)])
        await self._c.create_index("expires_at", expireAfterSeconds=0)

    async def create(
        self,
        *,
        tenant_id: str,
        kind: str,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        task_id: str | None = None,
    ) -> tuple[Task, bool]:
        """Insert a queued task; for a repeated idempotency key return the
        existing task and False."""
        now = datetime.now(UTC)
        doc: dict[str, Any] = {
            "_id": task_id or new_task_id(),
            "tenant_id": tenant_id,
            "kind": kind,
            "status": S.QUEUED.value,
            "progress": {"done": 0, "total": None},
            "attempts": 0,
            "error": None,
            "result": None,
            "params": params or {},
            "created_at": now,
            "updated_at": now,
        }
        if idempotency_key is not None:
            doc["idempotency_key"] = idempotency_key
        try:
            await self._c.insert_one(doc)
        except DuplicateKeyError:
            existing = await self._c.find_one(
                {"tenant_id": tenant_id, "idempotency_key": idempotency_key}
            )
            if existing is None:  # raced with a TTL expiry; try once more
                return await self.create(
                    tenant_id=tenant_id,
                    kind=kind,
                    params=params,
                    idempotency_key=idempotency_key,
                    task_id=task_id,
                )
            return Task.from_doc(existing), False
        return Task.from_doc(doc), True

    async def get(self, tenant_id: str, task_id: str) -> Task | None:
        doc = await self._c.find_one({"_id": task_id, "tenant_id": tenant_id})
        return Task.from_doc(doc) if doc else None

    async def page(
        self,
        tenant_id: str,
        *,
        status: TaskStatus | None = None,
        kind: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[Task], str | None]:
        query: dict[str, Any] = {"tenant_id": tenant_id}
        if status is not None:
            query["status"] = status.value
        if kind is not None:
            query["kind"] = kind
        if cursor is not None:
            query["_id"] = {"$lt": cursor}
        docs = await self._c.find(query).sort("_id", DESCENDING).limit(limit + 1).to_list()
        tasks = [Task.from_doc(d) for d in docs[:limit]]
        return tasks, (tasks[-1].id if len(docs) > limit else None)

    async def transition(
        self, tenant_id: str, task_id: str, target: TaskStatus, **fields: Any
    ) -> Task | None:
        """Compare-and-set: moves the task only from a status allowed to reach
        `target`; returns the updated task, or None if it was not allowed."""
        now = datetime.now(UTC)
        update: dict[str, Any] = {"status": target.value, "updated_at": now, **fields}
        if target is S.RUNNING:
            update.setdefault("started_at", now)
        if target in TERMINAL:
            update["finished_at"] = now
            update["expires_at"] = now + self._result_ttl
        ops: dict[str, Any] = {"$set": update}
        if target is S.RUNNING:
            ops["$inc"] = {"attempts": 1}
        doc = await self._c.find_one_and_update(
            {"_id": task_id, "tenant_id": tenant_id, "status": {"$in": sources_of(target)}},
            ops,
            return_document=ReturnDocument.AFTER,
        )
        return Task.from_doc(doc) if doc else None

    async def fail(self, tenant_id: str, task_id: str, code: str, message: str) -> Task | None:
        return await self.transition(
            tenant_id, task_id, S.FAILED, error={"code": code, "message": message}
        )

    async def set_progress_total(self, tenant_id: str, task_id: str, total: int) -> Task | None:
        doc = await self._c.find_one_and_update(
            {"_id": task_id, "tenant_id": tenant_id},
            {"$set": {"progress.total": total, "updated_at": datetime.now(UTC)}},
            return_document=ReturnDocument.AFTER,
        )
        return Task.from_doc(doc) if doc else None

    async def increment_progress(
        self, tenant_id: str, task_id: str, done: int = 1, session: Any = None
    ) -> Task | None:
        doc = await self._c.find_one_and_update(
            {"_id": task_id, "tenant_id": tenant_id},
            {"$inc": {"progress.done": done}, "$set": {"updated_at": datetime.now(UTC)}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return Task.from_doc(doc) if doc else None

    async def complete_unit(self, tenant_id: str, task_id: str, unit: int) -> Task | None:
        """Count unit `unit` (e.g. a batch) as done exactly once, however often its
        message is redelivered; returns the task as it is afterwards."""
        doc = await self._c.find_one_and_update(
            {"_id": task_id, "tenant_id": tenant_id, "done_units": {"$ne": unit}},
            {
                "$push": {"done_units": unit},
                "$inc": {"progress.done": 1},
                "$set": {"updated_at": datetime.now(UTC)},
            },
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:  # counted before (a redelivery), or no such task
            return await self.get(tenant_id, task_id)
        return Task.from_doc(doc)

    async def mark_published(self, tenant_id: str, task_id: str) -> None:
        await self._c.update_one(
            {"_id": task_id, "tenant_id": tenant_id}, {"$set": {"published_at": datetime.now(UTC)}}
        )

    async def stuck_queued(self, older_than: timedelta, limit: int = 100) -> list[Task]:
        """Queued tasks whose publish was never recorded, untouched for `older_than`:
        the process died between the write and the publish (or before recording it).
        The reconciler re-publishes them; a task already in the queue is left alone,
        however deep the backlog."""
        cutoff = datetime.now(UTC) - older_than
        docs = (
            await self._c.find(
                {"status": S.QUEUED.value, "published_at": None, "updated_at": {"$lte": cutoff}}
            )
            .limit(limit)
            .to_list()
        )
        return [Task.from_doc(d) for d in docs]

    async def touch(self, tenant_id: str, task_id: str) -> None:
        await self._c.update_one(
            {"_id": task_id, "tenant_id": tenant_id}, {"$set": {"updated_at": datetime.now(UTC)}}
        )
