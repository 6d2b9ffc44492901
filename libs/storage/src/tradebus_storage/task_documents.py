"""Tasks by the document they ingest: before its ingestion starts, a submitted document
exists only as its task's command (`params.command.document_id`), and that is what the
gateway answers for it. A mixin of TaskRepository (it shares the collection)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from .task_model import Task

_DOCUMENT = "params.command.document_id"


class TaskDocuments:
    _c: AsyncCollection[Any]

    async def _ensure_document_index(self) -> None:
        await self._c.create_index(
            [("tenant_id", ASCENDING), (_DOCUMENT, ASCENDING), ("_id", DESCENDING)],
            partialFilterExpression={_DOCUMENT: {"$type": "string"}},
        )

    async def latest_for_document(self, tenant_id: str, kind: str, document_id: str) -> Task | None:
        """The tenant's newest task of `kind` whose command names the document."""
        doc = await self._c.find_one(
            {"tenant_id": tenant_id, "kind": kind, _DOCUMENT: document_id},
            sort=[("_id", DESCENDING)],
        )
        return Task.from_doc(doc) if doc else None
