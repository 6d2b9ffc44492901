"""Documents as a tenant's resources: list, read, delete (tombstone, then purge).

The knowledge base's write path (versions, chunks, vectors) is `knowledge.py`; this is
what the gateway and the purge consumer need. Deletion is two steps so that a crash
between them leaves no citation: `mark_deleted` sets the tombstone that every reader
filters (and `store_vectors` checks), the `document deleted` event makes replicas drop
the document from memory, then `purge` removes chunks, vectors and the stored source;
the tombstone stays, so a late or redelivered ingest cannot bring the document back."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from .knowledge import DELETED, live_version


class InvalidDocumentCursor(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    id: str
    tenant_id: str
    title: str
    status: str
    metadata: dict[str, str]
    source: dict[str, Any]
    chunk_count: int
    duplicate_chunks: int
    version: int
    task_id: str | None  # the task that made the live version (else the latest one)
    pending_task_id: str | None  # a task building the next version, if any
    requested_task_id: str | None  # the newest reindex requested, if any
    created_at: datetime
    updated_at: datetime
    indexed_at: datetime | None = None
    deleted_at: datetime | None = None
    error: str | None = None

    @property
    def task_ids(self) -> list[str]:
        """Every task that may still be working on this document."""
        ids = [self.requested_task_id, self.pending_task_id, self.task_id]
        return list(dict.fromkeys(i for i in ids if i))

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> DocumentRecord:
        return cls(
            id=d["_id"],
            tenant_id=d["tenant_id"],
            title=d.get("title", ""),
            status=d.get("status", ""),
            metadata=dict(d.get("metadata") or {}),
            source=dict(d.get("source") or {}),
            chunk_count=int(d.get("chunk_count") or 0),
            duplicate_chunks=int(d.get("duplicate_chunks") or 0),
            version=live_version(d),
            task_id=d.get("indexed_task_id") or d.get("task_id"),
            pending_task_id=d.get("pending_task_id"),
            requested_task_id=d.get("requested_task_id"),
            created_at=_aware(d["created_at"]),
            updated_at=_aware(d.get("updated_at") or d["created_at"]),
            indexed_at=_aware(d["indexed_at"]) if d.get("indexed_at") else None,
            deleted_at=_aware(d["deleted_at"]) if d.get("deleted_at") else None,
            error=d.get("error") or d.get("last_error"),
        )


@dataclass(frozen=True, slots=True)
class DocumentFilter:
    status: str | None = None
    title: str | None = None  # case-insensitive substring
    metadata: dict[str, str] = field(default_factory=dict)  # every pair must match
    created_after: datetime | None = None
    created_before: datetime | None = None


def encode_cursor(record: DocumentRecord) -> str:
    raw = json.dumps([record.created_at.isoformat(), record.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, document_id = json.loads(raw)
        return _aware(datetime.fromisoformat(created)), str(document_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidDocumentCursor(cursor) from exc


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class DocumentCatalog:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._documents = db["documents"]
        self._chunks = db["chunks"]
        self._vectors = db["vectors"]

    async def get(self, tenant_id: str, document_id: str) -> DocumentRecord | None:
        """A live document of the tenant: deleted or another tenant's is None."""
        d = await self._documents.find_one(
            {"_id": document_id, "tenant_id": tenant_id, "status": {"$ne": DELETED}}
        )
        return None if d is None else DocumentRecord.from_doc(d)

    async def page(
        self, tenant_id: str, filters: DocumentFilter, *, cursor: str | None, limit: int
    ) -> tuple[list[DocumentRecord], str | None]:
        """Newest first, by (created_at, id): a cursor stays valid while documents are
        added or deleted."""
        query: dict[str, Any] = {"tenant_id": tenant_id}
        if filters.status is not None:
            query["status"] = filters.status
        else:
            query["status"] = {"$ne": DELETED}
        if filters.status == DELETED:
            return [], None  # deleted documents are not resources
        if filters.title:
            query["title"] = {"$regex": re.escape(filters.title), "$options": "i"}
        for key, value in filters.metadata.items():
            query[f"metadata.{key}"] = value
        created: dict[str, datetime] = {}
        if filters.created_after is not None:
            created["$gte"] = filters.created_after
        if filters.created_before is not None:
            created["$lt"] = filters.created_before
        if created:
            query["created_at"] = created
        if cursor is not None:
            at, last_id = decode_cursor(cursor)
            query["$or"] = [
                {"created_at": {"$lt": at}},
                {"created_at": at, "_id": {"$lt": last_id}},
            ]
        docs = (
            await self._documents.find(query)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit + 1)
            .to_list()
        )
        records = [DocumentRecord.from_doc(d) for d in docs[:limit]]
        return records, (encode_cursor(records[-1]) if len(docs) > limit else None)

    async def mark_deleted(self, tenant_id: str, document_id: str) -> DocumentRecord | None:
        """Set the tombstone; returns the document as it was before (a document already
        deleted is returned too, so a retried delete can announce it again), or None
        when the tenant has no such document."""
        now = datetime.now(UTC)
        before = await self._documents.find_one_and_update(
            {"_id": document_id, "tenant_id": tenant_id, "status": {"$ne": DELETED}},
            {"$set": {"status": DELETED, "deleted_at": now, "updated_at": now}},
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            before = await self._documents.find_one(
                {"_id": document_id, "tenant_id": tenant_id, "status": DELETED}
            )
        return None if before is None else DocumentRecord.from_doc(before)

    async def tombstone_unstarted(
        self,
        tenant_id: str,
        document_id: str,
        *,
        title: str,
        source: dict[str, Any],
        metadata: dict[str, str],
    ) -> None:
        """The tombstone of a document whose ingestion has not written it yet: a worker
        that starts it later finds the tombstone and drops it, and the purge finds the
        source to remove. Nothing is done to a document that exists meanwhile."""
        now = datetime.now(UTC)
        await self._documents.update_one(
            {"_id": document_id, "tenant_id": tenant_id},
            {
                "$setOnInsert": {
                    "title": title,
                    "status": DELETED,
                    "metadata": metadata,
                    "source": source,
                    "chunk_count": 0,
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": now,
                }
            },
            upsert=True,
        )

    async def claim_reindex(
        self, tenant_id: str, document_id: str, task_id: str, *, seen: DocumentRecord
    ) -> bool:
        """Record `task_id` as the document's newest task if nobody else did since
        `seen` was read (compare-and-set: two concurrent reindex requests cannot both
        start one)."""
        result = await self._documents.update_one(
            {
                "_id": document_id,
                "tenant_id": tenant_id,
                "status": {"$ne": DELETED},
                "requested_task_id": seen.requested_task_id,  # None matches "never"
            },
            {"$set": {"requested_task_id": task_id, "updated_at": datetime.now(UTC)}},
        )
        return result.modified_count == 1

    async def is_deleted(self, tenant_id: str, document_id: str) -> bool:
        d = await self._documents.find_one(
            {"_id": document_id, "tenant_id": tenant_id}, {"status": 1}
        )
        return d is not None and d.get("status") == DELETED

    async def purge(self, tenant_id: str, document_id: str) -> dict[str, Any] | None:
        """Remove a deleted document's chunks and vectors (every version); returns its
        source so the caller can remove a stored blob, or None when it is not deleted
        (a purge never touches a live document). Idempotent."""
        d = await self._documents.find_one(
            {"_id": document_id, "tenant_id": tenant_id, "status": DELETED}
        )
        if d is None:
            return None
        scope = {"tenant_id": tenant_id, "document_id": document_id}
        await self._chunks.delete_many(scope)
        await self._vectors.delete_many(scope)
        await self._documents.update_one(
            {"_id": document_id, "tenant_id": tenant_id},
            {"$set": {"purged_at": datetime.now(UTC)}},
        )
        return dict(d.get("source") or {})

    async def live_blob_ids(self, tenant_id: str, blob_ids: list[str]) -> set[str]:
        """Which of these blobs a live document still needs (a reindex reads them)."""
        cursor = self._documents.find(
            {
                "tenant_id": tenant_id,
                "status": {"$ne": DELETED},
                "source.blob_id": {"$in": blob_ids},
            },
            {"source": 1},
        )
        return {str(d["source"]["blob_id"]) async for d in cursor}
