"""The chunk store as the ingest pipeline uses it: MongoDB through KnowledgeRepository.

Chunk ids are `<document>:<index>` (`<document>#<version>:<index>` for later versions;
chunking is deterministic, so a redelivery writes the same ids). Each document owns its
chunks: an equal chunk in another document is stored again, never shared."""

from __future__ import annotations

from collections.abc import Sequence

from tradebus_knowledge import Chunk
from tradebus_storage import KnowledgeRepository, NewChunk


async def store_chunks(
    knowledge: KnowledgeRepository,
    *,
    tenant_id: str,
    document_id: str,
    version: int,
    chunks: Sequence[Chunk],
) -> tuple[list[str], int]:
    """The version's chunk ids in order, and how many chunks were already stored."""
    duplicates = await knowledge.store_chunks(
        tenant_id=tenant_id,
        document_id=document_id,
        version=version,
        chunks=[NewChunk(c.index, c.text, c.token_count, c.content_hash) for c in chunks],
    )
    return await knowledge.chunk_ids(tenant_id, document_id, version), duplicates
