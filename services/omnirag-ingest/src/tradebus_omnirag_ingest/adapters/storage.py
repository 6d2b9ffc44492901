"""The chunk store as the ingest pipeline uses it: MongoDB through KnowledgeRepository.

Chunk ids are `<document>:<index>` (chunking is deterministic, so a redelivery writes
the same ids), and the store's unique (tenant, content hash) index drops a chunk the
tenant already has in another document, which is then counted as a duplicate."""

from __future__ import annotations

from collections.abc import Sequence

from tradebus_knowledge import Chunk
from tradebus_storage import KnowledgeRepository, NewChunk


async def store_chunks(
    knowledge: KnowledgeRepository, *, tenant_id: str, document_id: str, chunks: Sequence[Chunk]
) -> tuple[list[str], int]:
    """The document's chunk ids in order, and how many chunks were already known."""
    duplicates = await knowledge.store_chunks(
        tenant_id=tenant_id,
        document_id=document_id,
        chunks=[NewChunk(c.index, c.text, c.token_count, c.content_hash) for c in chunks],
    )
    return await knowledge.chunk_ids(tenant_id, document_id), duplicates
