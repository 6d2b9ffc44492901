"""The knowledge base: documents, their chunks, and the chunks' vectors.

Each document owns its chunks. Equal text in two documents is stored twice (a unique
index on (tenant, document, version, content hash) dedupes only within one version of one
document), so deleting one document can neither remove nor keep the other's text.

Versions make an update atomic for readers. An ingest writes its chunks and vectors
under a new version (`generation` counts them); the document's `version` names the live
one, and readers take only vectors of the live version. The last embed batch switches
`version` in one document write (`mark_indexed`), and the superseded version's chunks and
vectors are removed after that. Chunk ids are `<document>:<index>` for version 1 and
`<document>#<version>:<index>` after that, so a redelivery writes the same ids.

Deletion is a tombstone (`status: deleted`): readers filter it at once, writers check it
(a late embed batch cannot resurrect anything, see `store_vectors`), and a purge removes
the data afterwards (`DocumentCatalog.purge`).

Vectors are stored per embed batch, one document holding the batch's chunk ids and a
float32 matrix: one write per batch instead of one per chunk, and search loads a tenant's
vectors in a few large reads straight into numpy (exact search: MongoDB without Atlas has
no $vectorSearch).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from bson.binary import Binary
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

INGESTING = "ingesting"
INDEXED = "indexed"
FAILED = "failed"
DELETED = "deleted"

# The index that deduped chunks across a tenant's documents (dropped on startup).
_LEGACY_CHUNK_INDEX = "tenant_id_1_content_hash_1"


class DocumentGone(LookupError):
    """The document was deleted (or its version superseded): the write is void."""


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
    version: int = 1


@dataclass(frozen=True, slots=True)
class IndexedDocument:
    id: str
    title: str
    metadata: dict[str, str]


@dataclass(frozen=True, slots=True)
class TenantVectors:
    """Every embedded chunk of a tenant's indexed documents (their live version),
    row-aligned."""

    ids: list[str]
    matrix: np.ndarray  # float32, (n, dimensions)


def version_key(document_id: str, version: int = 1) -> str:
    """The prefix of a version's chunk and vector-batch ids."""
    return document_id if version == 1 else f"{document_id}#{version}"


def chunk_id(document_id: str, index: int, version: int = 1) -> str:
    return f"{version_key(document_id, version)}:{index}"


def live_version(document: Mapping[str, Any]) -> int:
    """Documents written before versions existed hold version 1 when indexed."""
    if "version" in document:
        return int(document["version"])
    return 1 if document.get("status") == INDEXED else 0


class KnowledgeRepository:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._documents = db["documents"]
        self._chunks = db["chunks"]
        self._vectors = db["vectors"]

    async def ensure_indexes(self) -> None:
        # Not there: a new database, or one already migrated.
        with contextlib.suppress(OperationFailure):
            await self._chunks.drop_index(_LEGACY_CHUNK_INDEX)
        await self._chunks.create_index(
            [
                ("tenant_id", ASCENDING),
                ("document_id", ASCENDING),
                ("version", ASCENDING),
                ("content_hash", ASCENDING),
            ],
            unique=True,
        )
        await self._chunks.create_index([("document_id", ASCENDING), ("index", ASCENDING)])
        await self._vectors.create_index([("tenant_id", ASCENDING), ("indexed", ASCENDING)])
        await self._vectors.create_index([("document_id", ASCENDING)])
        await self._documents.create_index([("tenant_id", ASCENDING), ("status", ASCENDING)])
        await self._documents.create_index(
            [("tenant_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)]
        )
        await self._documents.create_index([("tenant_id", ASCENDING), ("content_hash", ASCENDING)])

    # -- documents ---------------------------------------------------------

    async def upsert_document(
        self,
        *,
        tenant_id: str,
        document_id: str,
        task_id: str,
        title: str,
        metadata: dict[str, str],
        source: dict[str, Any] | None = None,
    ) -> int:
        """Begin (or, for a redelivery of the same task, resume) the version `task_id`
        builds; returns that version. A new document starts at status `ingesting`; an
        indexed one stays searchable in its live version meanwhile. Raises
        PermissionError for another tenant's id and DocumentGone for a deleted one."""
        for _ in range(5):  # compare-and-set on `generation`; a concurrent writer retries
            current = await self._documents.find_one({"_id": document_id})
            if current is not None:
                if current.get("tenant_id") != tenant_id:
                    raise PermissionError(f"document {document_id} belongs to another tenant")
                if current.get("status") == DELETED:
                    raise DocumentGone(document_id)
                if current.get("pending_task_id") == task_id:
                    return int(current["pending_version"])
                if current.get("indexed_task_id") == task_id:
                    return live_version(current)
            now = datetime.now(UTC)
            fields: dict[str, Any] = {
                "task_id": task_id,
                "pending_task_id": task_id,
                "title": title,
                "metadata": metadata,
                "updated_at": now,
            }
            if source is not None:
                fields["source"] = source
            if current is None:
                try:
                    await self._documents.insert_one(
                        {
                            "_id": document_id,
                            "tenant_id": tenant_id,
                            "status": INGESTING,
                            "version": 0,
                            "generation": 1,
                            "pending_version": 1,
                            "created_at": now,
                            **fields,
                        }
                    )
                except DuplicateKeyError:
                    continue  # created meanwhile: look again
                return 1
            generation = max(int(current.get("generation", 0)), live_version(current))
            updated = await self._documents.update_one(
                {
                    "_id": document_id,
                    "tenant_id": tenant_id,
                    "status": {"$ne": DELETED},
                    "generation": current.get("generation"),
                },
                {
                    "$set": {
                        **fields,
                        "generation": generation + 1,
                        "pending_version": generation + 1,
                    }
                },
            )
            if updated.modified_count == 1:
                return generation + 1
        raise RuntimeError(f"document {document_id}: too many concurrent versions")

    async def document(self, tenant_id: str, document_id: str) -> dict[str, Any] | None:
        """The raw record (deleted ones included), tenant-scoped."""
        return await self._documents.find_one({"_id": document_id, "tenant_id": tenant_id})

    async def set_document_status(
        self, tenant_id: str, document_id: str, status: str, **fields: Any
    ) -> None:
        await self._documents.update_one(
            {"_id": document_id, "tenant_id": tenant_id, "status": {"$ne": DELETED}},
            {"$set": {"status": status, "updated_at": datetime.now(UTC), **fields}},
        )

    async def record_pending(
        self,
        tenant_id: str,
        document_id: str,
        task_id: str,
        *,
        chunk_count: int,
        duplicate_chunks: int,
        content_hash: str,
    ) -> None:
        """What the version `task_id` builds holds; made live by `mark_indexed`."""
        await self._documents.update_one(
            {"_id": document_id, "tenant_id": tenant_id, "pending_task_id": task_id},
            {
                "$set": {
                    "pending_chunk_count": chunk_count,
                    "pending_duplicate_chunks": duplicate_chunks,
                    "pending_content_hash": content_hash,
                    "updated_at": datetime.now(UTC),
                }
            },
        )

    async def abandon_pending(
        self, tenant_id: str, document_id: str, task_id: str, *, error: str | None = None
    ) -> None:
        """The version `task_id` built will never be live (failed, or a no-op): a
        document that has no live version fails; one that has keeps serving it."""
        document = await self._documents.find_one_and_update(
            {"_id": document_id, "tenant_id": tenant_id, "pending_task_id": task_id},
            {
                "$unset": {"pending_task_id": ""},
                "$set": {"updated_at": datetime.now(UTC), "last_error": error},
            },
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            return
        if error is not None and live_version(document) == 0:
            await self.set_document_status(tenant_id, document_id, FAILED, error=error)
        await self._remove_versions(tenant_id, document_id, keep=live_version(document))

    async def live_duplicate(
        self, tenant_id: str, content_hash: str, *, other_than: str
    ) -> dict[str, Any] | None:
        """Another live document of the tenant with this exact content."""
        return await self._documents.find_one(
            {
                "tenant_id": tenant_id,
                "content_hash": content_hash,
                "status": INDEXED,
                "_id": {"$ne": other_than},
            }
        )

    async def discard_unindexed(self, tenant_id: str, document_id: str) -> None:
        """Forget a document that never had a live version (its content turned out to be
        another document's): it holds no chunks yet."""
        await self._documents.delete_one({"_id": document_id, "tenant_id": tenant_id, "version": 0})
        scope = {"tenant_id": tenant_id, "document_id": document_id}
        await self._chunks.delete_many(scope)
        await self._vectors.delete_many(scope)

    # -- chunks ------------------------------------------------------------

    async def _newest_version(self, tenant_id: str, document_id: str) -> int:
        document = await self._documents.find_one(
            {"_id": document_id, "tenant_id": tenant_id},
            {"generation": 1, "version": 1, "status": 1},
        )
        if document is None:
            return 1
        return max(int(document.get("generation", 0)), live_version(document), 1)

    async def store_chunks(
        self,
        *,
        tenant_id: str,
        document_id: str,
        chunks: Sequence[NewChunk],
        version: int | None = None,
    ) -> int:
        """Insert a version's chunks (default: the newest version); returns how many were
        not stored because an equal chunk (same content hash) is already in this version.
        Repeats within a document are dropped before this; other documents' chunks never
        matter."""
        if not chunks:
            return 0
        if version is None:
            version = await self._newest_version(tenant_id, document_id)
        now = datetime.now(UTC)
        docs = [
            {
                "_id": chunk_id(document_id, c.index, version),
                "tenant_id": tenant_id,
                "document_id": document_id,
                "version": version,
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
        await self._void_if_deleted(tenant_id, document_id, version)
        ours = await self._chunks.count_documents(
            {"tenant_id": tenant_id, "document_id": document_id, "version": version}
        )
        return len(chunks) - ours

    async def _void_if_deleted(self, tenant_id: str, document_id: str, version: int) -> None:
        """Checked after a write: either this sees the tombstone or the purge (which runs
        after the tombstone is set) sees the write, so nothing outlives a delete."""
        document = await self._documents.find_one(
            {"_id": document_id, "tenant_id": tenant_id}, {"status": 1}
        )
        if document is not None and document.get("status") == DELETED:
            scope = {"tenant_id": tenant_id, "document_id": document_id, "version": version}
            await self._chunks.delete_many(scope)
            await self._vectors.delete_many(scope)
            raise DocumentGone(document_id)

    async def chunk_ids(
        self, tenant_id: str, document_id: str, version: int | None = None
    ) -> list[str]:
        """A version's chunk ids in order (default: the newest version)."""
        if version is None:
            version = await self._newest_version(tenant_id, document_id)
        query: dict[str, Any] = {"tenant_id": tenant_id, "document_id": document_id}
        # Chunks written before versions existed have none: they are version 1.
        query["version"] = {"$in": [1, None]} if version == 1 else version
        cursor = self._chunks.find(query, {"_id": 1}).sort("index", ASCENDING)
        return [doc["_id"] async for doc in cursor]

    async def load_chunks(self, tenant_id: str, ids: Sequence[str]) -> list[StoredChunk]:
        cursor = self._chunks.find(
            {"_id": {"$in": list(ids)}, "tenant_id": tenant_id},
            {"document_id": 1, "index": 1, "text": 1, "version": 1},
        )
        found = {
            d["_id"]: StoredChunk(
                d["_id"], d["document_id"], d["index"], d["text"], int(d.get("version") or 1)
            )
            async for d in cursor
        }
        return [found[i] for i in ids if i in found]

    # -- vectors -----------------------------------------------------------

    async def store_vectors(
        self,
        tenant_id: str,
        document_id: str,
        batch: int,
        ids: Sequence[str],
        vectors: np.ndarray,
        *,
        model: str,
        version: int | None = None,
    ) -> None:
        """Idempotent: writing a batch again replaces it. Raises DocumentGone, leaving
        nothing behind, when the document was deleted (see `_void_if_deleted`)."""
        if version is None:
            version = await self._newest_version(tenant_id, document_id)
        rows = np.ascontiguousarray(vectors, dtype=np.float32)
        batch_id = f"{version_key(document_id, version)}:{batch}"
        # A redelivered batch (its worker died before the ack) may land after the switch
        # marked its version indexed: it rewrites the vectors, never the flag.
        await self._vectors.update_one(
            {"_id": batch_id},
            {
                "$set": {
                    "tenant_id": tenant_id,
                    "document_id": document_id,
                    "version": version,
                    "chunk_ids": list(ids),
                    "dimensions": int(rows.shape[1]),
                    "matrix": Binary(rows.tobytes()),
                    "model": model,
                },
                "$setOnInsert": {"indexed": False},
            },
            upsert=True,
        )
        await self._void_if_deleted(tenant_id, document_id, version)

    async def mark_indexed(
        self, tenant_id: str, document_id: str, task_id: str | None = None
    ) -> dict[str, Any] | None:
        """Switch the document to the version `task_id` built (default: whichever is
        pending) in one write, then remove the superseded version. Returns the document
        as it is now, or None when there is nothing to switch to (deleted, or the version
        was superseded by a newer ingest)."""
        query: dict[str, Any] = {
            "_id": document_id,
            "tenant_id": tenant_id,
            "status": {"$ne": DELETED},
            "pending_task_id": task_id if task_id is not None else {"$exists": True},
        }
        pending = await self._documents.find_one(query)
        if pending is None:
            if task_id is None:
                return None
            # Already switched by this task (a redelivered last batch): the same answer.
            return await self._documents.find_one(
                {
                    "_id": document_id,
                    "tenant_id": tenant_id,
                    "status": {"$ne": DELETED},
                    "indexed_task_id": task_id,
                }
            )
        version = int(pending["pending_version"])
        await self._vectors.update_many(
            {"tenant_id": tenant_id, "document_id": document_id, "version": version},
            {"$set": {"indexed": True}},
        )
        query["pending_task_id"] = pending["pending_task_id"]
        document = await self._documents.find_one_and_update(
            query,
            [
                {
                    "$set": {
                        "status": INDEXED,
                        "version": version,
                        "indexed_task_id": "$pending_task_id",
                        "chunk_count": {"$ifNull": ["$pending_chunk_count", 0]},
                        "duplicate_chunks": {"$ifNull": ["$pending_duplicate_chunks", 0]},
                        "content_hash": "$pending_content_hash",
                        "indexed_at": datetime.now(UTC),
                        "updated_at": datetime.now(UTC),
                    }
                },
                {
                    "$unset": [
                        "pending_task_id",
                        "pending_chunk_count",
                        "pending_duplicate_chunks",
                        "pending_content_hash",
                    ]
                },
            ],
            return_document=ReturnDocument.AFTER,
        )
        if document is None:
            return None
        await self._remove_versions(tenant_id, document_id, keep=version)
        return document

    async def _remove_versions(self, tenant_id: str, document_id: str, *, keep: int) -> None:
        """Chunks and vectors of every version but `keep` and the one being built."""
        current = await self._documents.find_one(
            {"_id": document_id, "tenant_id": tenant_id},
            {"pending_version": 1, "pending_task_id": 1},
        )
        kept = {keep}
        if current is not None and current.get("pending_task_id"):
            kept.add(int(current["pending_version"]))
        if 1 in kept:
            kept_values: list[Any] = [*kept, None]  # version 1 written before versions
        else:
            kept_values = list(kept)
        scope = {"tenant_id": tenant_id, "document_id": document_id}
        await self._chunks.delete_many({**scope, "version": {"$nin": kept_values}})
        await self._vectors.delete_many({**scope, "version": {"$nin": kept_values}})

    # -- reading (dealbrain, shadowhunter) --------------------------------

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
        """Searchable vectors: those of the live version of each indexed document (of
        one document only when `document_id` is given)."""
        scope: dict[str, Any] = {"tenant_id": tenant_id}
        if document_id is not None:
            scope["_id"] = document_id
        live = {
            d["_id"]: live_version(d)
            async for d in self._documents.find(
                {**scope, "status": INDEXED}, {"version": 1, "status": 1}
            )
        }
        ids: list[str] = []
        blocks: list[np.ndarray] = []
        # The live version is complete by construction (the switch follows its last
        # batch), so its vectors are searchable whatever their `indexed` flag says: a
        # batch redelivered after the switch rewrites its row unflagged.
        query: dict[str, Any] = {"tenant_id": tenant_id, "dimensions": dimensions}
        if document_id is not None:
            query["document_id"] = document_id
        cursor = self._vectors.find(
            query, {"chunk_ids": 1, "matrix": 1, "document_id": 1, "version": 1}
        ).sort("_id", ASCENDING)
        async for doc in cursor:
            if live.get(doc["document_id"]) != int(doc.get("version") or 1):
                continue  # a superseded or unfinished version, or a deleted document
            matrix = np.frombuffer(doc["matrix"], dtype=np.float32).reshape(-1, dimensions)
            ids.extend(doc["chunk_ids"])
            blocks.append(matrix)
        matrix = np.concatenate(blocks) if blocks else np.zeros((0, dimensions), dtype=np.float32)
        return TenantVectors(ids, matrix)
