"""The knowledge base: documents, their chunks, and the chunks' vectors.

Chunk ids are `<document id>:<index>`, so re-running an ingest (a redelivery) writes the
same ids and never duplicates; a unique index on (tenant, content hash) dedupes equal
chunks across the tenant's documents. Vectors are stored per embed batch, one document
holding the batch's chunk ids and a float32 matrix: one write per batch instead of one per
chunk, and search loads a tenant's vectors in a few large reads straight into numpy
(exact search: MongoDB without Atlas has no $vectorSearch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from bson.binary import Binary
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

INGESTING = "ingesting"
INDEXED = "indexed"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class NewChunk:
    index: int
    text: str
    token_count: int
    content_hash: str


@dataclass(frozen=True, slots=True)
class StoredChunk:
    id: str
    document_id: str
    index: int
    text: str


@dataclass(frozen=True, slots=True)
class IndexedDocument:
    id: str
    title: str
    metadata: dict[str, str]


@dataclass(frozen=True, slots=True)
class TenantVectors:
    """Every embedded chunk of a tenant's indexed documents, row-aligned."""

    ids: list[str]
    matrix: np.ndarray  # float32, (n, dimensions)


def chunk_id(document_id: str, index: int) -> str:
    return f"{document_id}:{index}"


class KnowledgeRepository:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._documents = db["documents"]
        self._chunks = db["chunks"]
        self._vectors = db["vectors"]

    async def ensure_indexes(self) -> None:
        await self._chunks.create_index(
            [("tenant_id", ASCENDING), ("content_hash", ASCENDING)], unique=True
        )
        await self._chunks.create_index([("document_id", ASCENDING), ("index", ASCENDING)])
        await self._vectors.create_index([("tenant_id", ASCENDING), ("indexed", ASCENDING)])
        await self._vectors.create_index([("document_id", ASCENDING)])
        await self._documents.create_index([("tenant_id", ASCENDING), ("status", ASCENDING)])

    # -- documents ---------------------------------------------------------

    async def upsert_document(
        self,
        *,
        tenant_id: str,
        document_id: str,
        task_id: str,
        title: str,
        metadata: dict[str, str],
    ) -> None:
        now = datetime.now(UTC)
        try:
            await self._documents.update_one(
                {"_id": document_id, "tenant_id": tenant_id},
                {
                    "$setOnInsert": {"created_at": now, "status": INGESTING},
                    "$set": {
                        "task_id": task_id,
                        "title": title,
                        "metadata": metadata,
                        "updated_at": now,
                    },
                },
                upsert=True,
            )
        except DuplicateKeyError as exc:  # the id exists under another tenant
            raise PermissionError(f"document {document_id} belongs to another tenant") from exc

    async def set_document_status(
        self, tenant_id: str, document_id: str, status: str, **fields: Any
    ) -> None:
        await self._documents.update_one(
            {"_id": document_id, "tenant_id": tenant_id},
            {"$set": {"status": status, "updated_at": datetime.now(UTC), **fields}},
        )

    async def store_chunks(
        self, *, tenant_id: str, document_id: str, chunks: Sequence[NewChunk]
    ) -> int:
        """Insert the chunks that are new to the tenant; returns how many were skipped
        because an equal chunk (same content hash) already exists in another document."""
        if not chunks:
            return 0
        now = datetime.now(UTC)
        docs = [
            {
                "_id": chunk_id(document_id, c.index),
                "tenant_id": tenant_id,
                "document_id": document_id,
                "index": c.index,
                "text": c.text,
                "token_count": c.token_count,
                "content_hash": c.content_hash,
                "indexed": False,
                "created_at": now,
            }
            for c in chunks
        ]
        try:
            await self._chunks.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
        ours = await self._chunks.count_documents(
            {"tenant_id": tenant_id, "document_id": document_id}
        )
        return len(chunks) - ours

    async def chunk_ids(self, tenant_id: str, document_id: str) -> list[str]:
        cursor = self._chunks.find(
            {"tenant_id": tenant_id, "document_id": document_id}, {"_id": 1}
        ).sort("index", ASCENDING)
        return [doc["_id"] async for doc in cursor]

    async def load_chunks(self, tenant_id: str, ids: Sequence[str]) -> list[StoredChunk]:
        cursor = self._chunks.find(
            {"_id": {"$in": list(ids)}, "tenant_id": tenant_id},
            {"document_id": 1, "index": 1, "text": 1},
        )
        found = {
            d["_id"]: StoredChunk(d["_id"], d["document_id"], d["index"], d["text"])
            async for d in cursor
        }
        return [found[i] for i in ids if i in found]

    async def store_vectors(
        self,
        tenant_id: str,
        document_id: str,
        batch: int,
        ids: Sequence[str],
        vectors: np.ndarray,
        *,
        model: str,
    ) -> None:
        """Idempotent: writing a batch again replaces it."""
        rows = np.ascontiguousarray(vectors, dtype=np.float32)
        await self._vectors.replace_one(
            {"_id": f"{document_id}:{batch}"},
            {
                "tenant_id": tenant_id,
                "document_id": document_id,
                "chunk_ids": list(ids),
                "dimensions": int(rows.shape[1]),
                "matrix": Binary(rows.tobytes()),
                "model": model,
                "indexed": False,
            },
            upsert=True,
        )

    async def mark_indexed(self, tenant_id: str, document_id: str) -> dict[str, Any] | None:
        """Make the document's vectors searchable; returns the document as it is now."""
        await self._vectors.update_many(
            {"tenant_id": tenant_id, "document_id": document_id}, {"$set": {"indexed": True}}
        )
        return await self._documents.find_one_and_update(
            {"_id": document_id, "tenant_id": tenant_id},
            {"$set": {"status": INDEXED, "updated_at": datetime.now(UTC)}},
            return_document=ReturnDocument.AFTER,
        )

    async def indexed_documents(self, tenant_id: str) -> dict[str, IndexedDocument]:
        """The tenant's searchable documents by id (title and metadata, no text)."""
        cursor = self._documents.find(
            {"tenant_id": tenant_id, "status": INDEXED}, {"title": 1, "metadata": 1}
        )
        return {
            d["_id"]: IndexedDocument(d["_id"], d.get("title", ""), d.get("metadata") or {})
            async for d in cursor
        }

    async def indexed_document(self, tenant_id: str, document_id: str) -> IndexedDocument | None:
        d = await self._documents.find_one(
            {"_id": document_id, "tenant_id": tenant_id, "status": INDEXED},
            {"title": 1, "metadata": 1},
        )
        return (
            None
            if d is None
            else IndexedDocument(d["_id"], d.get("title", ""), d.get("metadata") or {})
        )

    async def tenant_vectors(
        self, tenant_id: str, dimensions: int, *, document_id: str | None = None
    ) -> TenantVectors:
        """Searchable vectors: those of documents whose last batch has landed (of one
        document only when `document_id` is given)."""
        ids: list[str] = []
        blocks: list[np.ndarray] = []
        query: dict[str, Any] = {"tenant_id": tenant_id, "indexed": True, "dimensions": dimensions}
        if document_id is not None:
            query["document_id"] = document_id
        cursor = self._vectors.find(query, {"chunk_ids": 1, "matrix": 1}).sort("_id", ASCENDING)
        async for doc in cursor:
            matrix = np.frombuffer(doc["matrix"], dtype=np.float32).reshape(-1, dimensions)
            ids.extend(doc["chunk_ids"])
            blocks.append(matrix)
        matrix = np.concatenate(blocks) if blocks else np.zeros((0, dimensions), dtype=np.float32)
        return TenantVectors(ids, matrix)
