"""Task state (DESIGN.md section 5): tenant-scoped, compare-and-set transitions,
terminal states never regress (except through the named, audited `revive`), results
expire by TTL. Every status change appends to a bounded `history` in the same write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from tradebus_contracts import TaskStatus

from .metrics import TASKS_FINISHED
from .task_batches import TaskBatches
from .task_documents import TaskDocuments
from .task_model import (
    ACTIVE,
    ALLOWED,
    DEADLINE_EXCEEDED,
    FAULT_CODES,
    HISTORY_LIMIT,
    REVIVABLE_CODES,
    TERMINAL,
    S,
    Task,
    can_transition,
    new_task_id,
    sources_of,
    task_document,
)
from .task_sweeps import TaskSweeps

__all__ = [
    "ACTIVE",
    "ALLOWED",
    "DEADLINE_EXCEEDED",
    "FAULT_CODES",
    "HISTORY_LIMIT",
    "REVIVABLE_CODES",
    "TERMINAL",
    "Task",
    "TaskRepository",
    "can_transition",
    "new_task_id",
    "sources_of",
    "task_document",
]


def _literals(values: dict[str, Any]) -> dict[str, Any]:
    # In an update pipeline a value is an expression: a "$..." string in an error
    # message or result would be read as a field path.
    return {k: {"$literal": v} for k, v in values.items()}


def _appended(at: datetime, target: TaskStatus, reason: str | None, **extra: Any) -> Any:
    """`history` plus one entry (`from` is the status before this write), last N kept."""
    entry = {
        "at": {"$literal": at},
        "from": "$status",
        "to": {"$literal": target.value},
        "reason": {"$literal": reason},
        **extra,
    }
    return {"$slice": [{"$concatArrays": [{"$ifNull": ["$history", []]}, [entry]]}, -HISTORY_LIMIT]}


class TaskRepository(TaskSweeps, TaskBatches, TaskDocuments):
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
        await self._c.create_index(
            [("tenant_id", ASCENDING), ("parent_id", ASCENDING), ("_id", DESCENDING)],
            partialFilterExpression={"parent_id": {"$type": "string"}},
        )
        await self._c.create_index([("status", ASCENDING), ("updated_at", ASCENDING)])
        await self._c.create_index([("status", ASCENDING), ("queued_at", ASCENDING)])
        await self._c.create_index("expires_at", expireAfterSeconds=0)
        await self._ensure_document_index()

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
        doc = task_document(
            tenant_id=tenant_id,
            kind=kind,
            params=params,
            idempotency_key=idempotency_key,
            task_id=task_id,
        )
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
        parent_id: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[Task], str | None]:
        query: dict[str, Any] = {"tenant_id": tenant_id}
        if parent_id is not None:
            query["parent_id"] = parent_id
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
        self,
        tenant_id: str,
        task_id: str,
        target: TaskStatus,
        *,
        reason: str | None = None,
        **fields: Any,
    ) -> Task | None:
        """Compare-and-set: moves the task only from a status allowed to reach
        `target`; returns the updated task, or None if it was not allowed.
        `fields` are top-level fields to set; `reason` labels the history entry
        (a failure's error code by default)."""
        now = datetime.now(UTC)
        values: dict[str, Any] = {"status": target.value, "updated_at": now, **fields}
        if target is S.RUNNING:
            values.setdefault("started_at", now)
        if target in TERMINAL:
            values["finished_at"] = now
            values["expires_at"] = now + self._result_ttl
        if reason is None and isinstance(fields.get("error"), dict):
            reason = fields["error"].get("code")
        stage = _literals(values)
        if target is S.RUNNING:
            stage["attempts"] = {"$add": [{"$ifNull": ["$attempts", 0]}, 1]}
        stage["history"] = _appended(now, target, reason)
        # An update pipeline, so the history entry can read the status it replaces.
        doc = await self._c.find_one_and_update(
            {"_id": task_id, "tenant_id": tenant_id, "status": {"$in": sources_of(target)}},
            [{"$set": stage}],
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        task = Task.from_doc(doc)
        if target in TERMINAL:
            TASKS_FINISHED.labels(task.kind, target.value).inc()
        return task

    async def fail(
        self, tenant_id: str, task_id: str, code: str, message: str, **fields: Any
    ) -> Task | None:
        return await self.transition(
            tenant_id, task_id, S.FAILED, error={"code": code, "message": message}, **fields
        )

    async def record_fault(self, tenant_id: str, task_id: str, fault: dict[str, Any]) -> bool:
        """Note on a task that already failed (its handler gave up first) that its message
        was parked, which makes the failure revivable by a replay. Status is untouched."""
        result = await self._c.update_one(
            {"_id": task_id, "tenant_id": tenant_id, "status": S.FAILED.value},
            {"$set": {"fault": fault}},
        )
        return result.modified_count > 0

    async def revive(self, tenant_id: str, task_id: str, reason: str) -> Task | None:
        """FAILED -> QUEUED, the one way a terminal state is left, and only on purpose:
        a parked message was replayed, so its task may still succeed. Allowed only when
        the failure was a fault (a fault reason or `deadline_exceeded` as error code, or
        a recorded fault), never from SUCCEEDED or CANCELLED. Compare-and-set; the
        history entry keeps the error being undone. None when not allowed."""
        now = datetime.now(UTC)
        stage = _literals(
            {
                "status": S.QUEUED.value,
                "updated_at": now,
                "queued_at": now,  # a fresh deadline for the second chance
                "error": None,
                "fault": None,
                "finished_at": None,
                "expires_at": None,  # out of the TTL index's reach again
            }
        )
        stage["revivals"] = {"$add": [{"$ifNull": ["$revivals", 0]}, 1]}
        stage["history"] = _appended(now, S.QUEUED, reason, error="$error")
        doc = await self._c.find_one_and_update(
            {
                "_id": task_id,
                "tenant_id": tenant_id,
                "status": S.FAILED.value,
                "$or": [
                    {"error.code": {"$in": sorted(REVIVABLE_CODES)}},
                    {"fault": {"$ne": None}},
                ],
            },
            [{"$set": stage}],
            return_document=ReturnDocument.AFTER,
        )
        return Task.from_doc(doc) if doc else None

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

    async def touch(self, tenant_id: str, task_id: str) -> None:
        await self._c.update_one(
            {"_id": task_id, "tenant_id": tenant_id}, {"$set": {"updated_at": datetime.now(UTC)}}
        )

    async def delete_terminal(self, tenant_id: str, task_id: str) -> Task | None:
        """Delete the task if it has ended; returns what was deleted, or None when it is
        absent or still live (a live task is never deleted from under its workers)."""
        doc = await self._c.find_one_and_delete(
            {"_id": task_id, "tenant_id": tenant_id, "status": {"$in": [s.value for s in TERMINAL]}}
        )
        return Task.from_doc(doc) if doc else None
