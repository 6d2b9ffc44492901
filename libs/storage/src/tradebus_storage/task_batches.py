"""Batches over tasks: a parent (kind `rag.batch`) and its children (ordinary ingest tasks
carrying `parent_id`), written together in one transaction so neither exists without the
other; the children counted by status. A mixin of TaskRepository (it shares the
collection). How a parent's status follows from these counts is `batch_flow.py`."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from .task_model import ACTIVE, S, Task, task_document

BATCH_KIND = "rag.batch"
# Transactions that conflicted (the same Idempotency-Key sent at once: both insert the
# same unique key) are tried again this many times, after a short jittered pause.
CONFLICT_ATTEMPTS = 8
CONFLICT_PAUSE_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class ChildCounts:
    """A batch's children by status. `total` is what the batch was created with: a child
    deleted after it ended (DELETE /v1/tasks/{id}) still counts as ended."""

    total: int
    queued: int = 0
    running: int = 0
    retrying: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0

    @classmethod
    def of(cls, total: int, by_status: dict[str, int]) -> ChildCounts:
        return cls(total=total, **{s.value: by_status.get(s.value, 0) for s in S})

    @property
    def unfinished(self) -> int:
        return self.queued + self.running + self.retrying

    @property
    def done(self) -> int:
        return max(0, self.total - self.unfinished)

    @property
    def started(self) -> bool:
        return self.unfinished < self.total or self.running + self.retrying > 0

    def outcome(self) -> S | None:
        """None while any child is unfinished; then failed if any failed, else cancelled
        if any was cancelled, else succeeded."""
        if self.unfinished:
            return None
        if self.failed:
            return S.FAILED
        if self.cancelled:
            return S.CANCELLED
        return S.SUCCEEDED

    def result(self) -> dict[str, int]:
        return {
            "total": self.total,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "cancelled": self.cancelled,
        }


class TaskBatches:
    _c: AsyncCollection[Any]

    async def create_batch(
        self,
        *,
        tenant_id: str,
        task_id: str,
        children: Sequence[tuple[str, dict[str, Any]]],
        child_kind: str,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Task, bool]:
        """The parent and every child `(task id, params)`, queued, in one transaction;
        for a repeated idempotency key the existing parent and False (nothing written),
        also when the same key arrives at once several times."""
        parent = task_document(
            tenant_id=tenant_id,
            kind=BATCH_KIND,
            params=params,
            idempotency_key=idempotency_key,
            task_id=task_id,
        )
        parent["progress"]["total"] = len(children)
        docs = [
            task_document(
                tenant_id=tenant_id,
                kind=child_kind,
                params=child_params,
                task_id=child_id,
                parent_id=task_id,
            )
            for child_id, child_params in children
        ]
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                await self._insert_batch(parent, docs)
                return Task.from_doc(parent), True
            except DuplicateKeyError:
                pass  # the key's batch exists, unless it expired meanwhile: try again
            except PyMongoError as exc:
                last = attempt == CONFLICT_ATTEMPTS - 1
                if not exc.has_error_label("TransientTransactionError") or last:
                    raise
            if idempotency_key is not None:
                existing = await self._c.find_one(
                    {"tenant_id": tenant_id, "idempotency_key": idempotency_key}
                )
                if existing is not None:
                    return Task.from_doc(existing), False
            # the conflicting transaction has not committed (or was aborted) yet
            await asyncio.sleep(random.uniform(0, CONFLICT_PAUSE_SECONDS * 2**attempt))
        raise RuntimeError("unreachable: the last attempt raised")  # pragma: no cover

    async def _insert_batch(self, parent: dict[str, Any], children: list[dict[str, Any]]) -> None:
        client = self._c.database.client
        async with client.start_session() as session:  # noqa: SIM117 (needs session)
            async with await session.start_transaction():
                await self._c.insert_one(parent, session=session)
                await self._c.insert_many(children, session=session)

    async def child_counts(self, parent: Task) -> ChildCounts:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"tenant_id": parent.tenant_id, "parent_id": parent.id}},
            {"$group": {"_id": "$status", "n": {"$sum": 1}}},
        ]
        by_status = {row["_id"]: int(row["n"]) async for row in await self._c.aggregate(pipeline)}
        return ChildCounts.of(parent.progress.total or sum(by_status.values()), by_status)

    async def unfinished_children(self, tenant_id: str, parent_id: str) -> list[Task]:
        docs = await self._c.find(
            {"tenant_id": tenant_id, "parent_id": parent_id, "status": {"$in": ACTIVE}}
        ).to_list()
        return [Task.from_doc(d) for d in docs]

    async def unsettled_batches(self, limit: int = 100) -> list[Task]:
        """Unfinished parents, the longest untouched first (the watchdog settles them and
        touches those that did not change, so every parent gets its turn)."""
        docs = (
            await self._c.find({"kind": BATCH_KIND, "status": {"$in": ACTIVE}})
            .sort("updated_at", ASCENDING)
            .limit(limit)
            .to_list()
        )
        return [Task.from_doc(d) for d in docs]

    async def set_batch_progress(self, parent: Task, done: int) -> Task | None:
        """The parent's progress, while it is unfinished (a parent that ended keeps the
        progress it ended with)."""
        doc = await self._c.find_one_and_update(
            {"_id": parent.id, "tenant_id": parent.tenant_id, "status": {"$in": ACTIVE}},
            {"$set": {"progress.done": done, "updated_at": datetime.now(UTC)}},
            return_document=ReturnDocument.AFTER,
        )
        return Task.from_doc(doc) if doc else None
