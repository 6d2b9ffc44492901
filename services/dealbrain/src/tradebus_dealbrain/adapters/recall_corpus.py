"""The recall patrol's read-only view of the knowledge base: which tenants have searchable
knowledge, which of a tenant's chunks are searchable (those of its indexed documents,
the population the in-memory index is built from), and their texts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from tradebus_storage import INDEXED, KnowledgeRepository, StoredChunk

# `$in` lists stay well under MongoDB's 16 MB command limit.
_BATCH = 1000


class MongoRecallCorpus:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._repo = KnowledgeRepository(db)
        self._documents = db["documents"]
        self._chunks = db["chunks"]

    async def tenants(self) -> list[str]:
        found = await self._documents.distinct("tenant_id", {"status": INDEXED})
        return sorted(t for t in found if isinstance(t, str))

    async def searchable_chunk_ids(self, tenant_id: str) -> list[str]:
        documents = sorted(await self._repo.indexed_documents(tenant_id))
        ids: list[str] = []
        for start in range(0, len(documents), _BATCH):
            cursor = self._chunks.find(
                {"tenant_id": tenant_id, "document_id": {"$in": documents[start : start + _BATCH]}},
                {"_id": 1},
            )
            ids.extend([d["_id"] async for d in cursor])
        return ids

    async def load(self, tenant_id: str, ids: Sequence[str]) -> list[StoredChunk]:
        out: list[StoredChunk] = []
        for start in range(0, len(ids), _BATCH):
            out.extend(await self._repo.load_chunks(tenant_id, ids[start : start + _BATCH]))
        return out
