"""The consistency check's reads and repairs in MongoDB: one tenant's documents, chunks,
vector batches and stored uploads (ids and small fields only, never text or matrices),
the removals, and the compare-and-set that hands a document version to a repair task.
Kept beside the knowledge repository rather than in it: this is the auditor's view."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from tradebus_storage import BlobStore, KnowledgeRepository

DELETED = "deleted"
INDEXED = "indexed"


class KnowledgeAudit:
    def __init__(self, db: AsyncDatabase[Any], *, blob_bucket: str = "blobs") -> None:
        self._documents = db["documents"]
        self._chunks = db["chunks"]
        self._vectors = db["vectors"]
        self._tasks = db["tasks"]
        self._files = db[f"{blob_bucket}.files"]
        self._blobs = BlobStore(db, bucket=blob_bucket)
        self._knowledge = KnowledgeRepository(db)

    async def tenants(self) -> list[str]:
        """Every tenant with anything stored in the knowledge base."""
        found: set[str] = set()
        for collection in (self._documents, self._chunks, self._vectors):
            found.update(t for t in await collection.distinct("tenant_id") if t)
        found.update(t for t in await self._files.distinct("metadata.tenant_id") if t)
        return sorted(found)

    async def documents(self, tenant_id: str) -> list[dict[str, Any]]:
        projection = {"source.text": 0, "metadata": 0, "title": 0}
        return await self._documents.find({"tenant_id": tenant_id}, projection).to_list()

    async def vector_batches(self, tenant_id: str) -> list[dict[str, Any]]:
        projection = {"document_id": 1, "version": 1, "chunk_ids": 1}
        return await self._vectors.find({"tenant_id": tenant_id}, projection).to_list()

    async def chunks(self, tenant_id: str) -> list[dict[str, Any]]:
        projection = {"document_id": 1, "version": 1, "index": 1, "created_at": 1}
        cursor = self._chunks.find({"tenant_id": tenant_id}, projection).sort("index", ASCENDING)
        return await cursor.to_list()

    async def remove_chunks(self, tenant_id: str, ids: Iterable[str]) -> int:
        result = await self._chunks.delete_many({"tenant_id": tenant_id, "_id": {"$in": list(ids)}})
        return int(result.deleted_count)

    async def remove_vectors(self, tenant_id: str, ids: Iterable[str]) -> int:
        result = await self._vectors.delete_many(
            {"tenant_id": tenant_id, "_id": {"$in": list(ids)}}
        )
        return int(result.deleted_count)

    async def task_status(self, tenant_id: str, task_id: str | None) -> str | None:
        if not task_id:
            return None
        doc = await self._tasks.find_one({"_id": task_id, "tenant_id": tenant_id}, {"status": 1})
        return None if doc is None else str(doc["status"])

    async def hand_live_version(
        self, document: dict[str, Any], *, version: int, task_id: str, chunk_count: int
    ) -> bool:
        """Make `task_id` the builder of the document's live version again, so the embed
        worker's last batch switches the version (its vectors searchable) as after any
        ingest. Only while nothing else builds a version (or it is ours: a redelivery)."""
        query: dict[str, Any] = {
            "_id": document["_id"],
            "tenant_id": document["tenant_id"],
            "status": INDEXED,
            "$and": [
                {"$or": [{"pending_task_id": {"$exists": False}}, {"pending_task_id": task_id}]},
                # Written before versions existed: the live version is 1 and unnamed.
                {"$or": [{"version": version}, *([{"version": None}] if version == 1 else [])]},
            ],
        }
        result = await self._documents.update_one(
            query,
            {
                "$set": {
                    "pending_task_id": task_id,
                    "pending_version": version,
                    "pending_chunk_count": chunk_count,
                    "pending_duplicate_chunks": int(document.get("duplicate_chunks") or 0),
                    "pending_content_hash": document.get("content_hash"),
                }
            },
        )
        return result.matched_count == 1

    async def hand_pending_version(
        self, document: dict[str, Any], *, dead_task_id: str, task_id: str, chunk_count: int
    ) -> bool:
        """Hand the version a dead task was building to `task_id` (compare-and-set on
        the dead task still being its builder)."""
        result = await self._documents.update_one(
            {
                "_id": document["_id"],
                "tenant_id": document["tenant_id"],
                "pending_task_id": {"$in": [dead_task_id, task_id]},
            },
            {"$set": {"pending_task_id": task_id, "pending_chunk_count": chunk_count}},
        )
        return result.matched_count == 1

    async def abandon_pending(self, document: dict[str, Any], task_id: str, error: str) -> None:
        """The version `task_id` was building will never be live: its chunks and vectors
        go, the live version keeps serving (the knowledge repository's own rule)."""
        await self._knowledge.abandon_pending(
            document["tenant_id"], document["_id"], task_id, error=error
        )

    async def mark_failed(self, document: dict[str, Any], error: str, now: datetime) -> bool:
        result = await self._documents.update_one(
            {"_id": document["_id"], "tenant_id": document["tenant_id"], "status": "ingesting"},
            {"$set": {"status": "failed", "error": error, "updated_at": now}},
        )
        return result.modified_count == 1

    async def orphan_blobs(
        self, tenant_id: str, *, older_than: timedelta, now: datetime
    ) -> list[str]:
        """Stored uploads of the tenant that neither a task (its command's source) nor a
        live document (its source, for a reindex) refers to, older than the safety age
        (an upload is stored moments before its task exists)."""
        referenced: set[str] = set()
        async for task in self._tasks.find(
            {"tenant_id": tenant_id, "params.command.source.blob_id": {"$exists": True}},
            {"params.command.source.blob_id": 1},
        ):
            referenced.add(str(task["params"]["command"]["source"]["blob_id"]))
        async for document in self._documents.find(
            {
                "tenant_id": tenant_id,
                "status": {"$ne": DELETED},
                "source.blob_id": {"$exists": True},
            },
            {"source.blob_id": 1},
        ):
            referenced.add(str(document["source"]["blob_id"]))
        cursor = self._files.find(
            {"metadata.tenant_id": tenant_id, "uploadDate": {"$lte": now - older_than}}, {"_id": 1}
        )
        return [str(f["_id"]) async for f in cursor if str(f["_id"]) not in referenced]

    async def remove_blob(self, blob_id: str) -> None:
        await self._blobs.delete(blob_id)


class CheckReports:
    """One stored report per (tenant, slot), expiring by TTL: a redelivered check of a
    slot already reported does nothing."""

    def __init__(self, db: AsyncDatabase[Any], *, retention: timedelta) -> None:
        self._c = db["kb_checks"]
        self._retention = retention

    async def ensure_indexes(self) -> None:
        await self._c.create_index("expires_at", expireAfterSeconds=0)
        await self._c.create_index([("tenant_id", ASCENDING), ("slot", ASCENDING)])

    @staticmethod
    def _id(tenant_id: str, slot: datetime) -> str:
        return f"{tenant_id}@{slot.isoformat()}"

    async def get(self, tenant_id: str, slot: datetime) -> dict[str, Any] | None:
        return await self._c.find_one({"_id": self._id(tenant_id, slot)})

    async def store(
        self, tenant_id: str, slot: datetime, report: dict[str, Any], *, now: datetime
    ) -> None:
        # A concurrent copy of the same run may have stored it first.
        with contextlib.suppress(DuplicateKeyError):
            await self._c.insert_one(
                {
                    "_id": self._id(tenant_id, slot),
                    "tenant_id": tenant_id,
                    "slot": slot,
                    "checked_at": now,
                    "expires_at": now + self._retention,
                    **report,
                }
            )
