"""Embed one batch under the embedding budget and store its vectors.

Vectors are written per batch with a replace-by-id (`<document>[#<version>]:<batch>`),
so writing a batch again replaces it: a redelivered batch leaves exactly one copy. The
batch's version is its chunks' version. A batch of a deleted document raises
DocumentGone and leaves nothing behind (`store_vectors` checks the tombstone after
writing), so a late batch cannot resurrect a document."""

from __future__ import annotations

import asyncio

from tradebus_knowledge import Embedder
from tradebus_messaging import PermanentError
from tradebus_storage import DELETED, DocumentGone, KnowledgeRepository


class MissingChunks(PermanentError):
    """The batch names chunks that do not exist (deleted document): retrying cannot help."""

    def __init__(self, missing: int) -> None:
        super().__init__(
            f"embed_failed: {missing} of the batch's chunks do not exist", code="embed_failed"
        )


class BatchEmbedder:
    def __init__(
        self, knowledge: KnowledgeRepository, embedder: Embedder, budget: asyncio.Semaphore
    ) -> None:
        self._knowledge, self._embedder, self._budget = knowledge, embedder, budget

    @property
    def model(self) -> str:
        return self._embedder.name

    async def embed_batch(
        self, tenant_id: str, document_id: str, batch_index: int, chunk_ids: list[str]
    ) -> None:
        chunks = await self._knowledge.load_chunks(tenant_id, chunk_ids)
        if len(chunks) != len(chunk_ids):
            document = await self._knowledge.document(tenant_id, document_id)
            if document is not None and document.get("status") == DELETED:
                raise DocumentGone(document_id)  # purged already
            raise MissingChunks(len(chunk_ids) - len(chunks))
        async with self._budget:  # calls in flight to the embedding provider
            vectors = await self._embedder.embed([c.text for c in chunks])
        await self._knowledge.store_vectors(
            tenant_id,
            document_id,
            batch_index,
            [c.id for c in chunks],
            vectors,
            model=self._embedder.name,
            version=chunks[0].version,
        )
