"""Seed a tenant's knowledge base the way omnirag-ingest and omnirag-embed do: document,
chunks, vectors from the same embedder dealbrain queries with, then `mark_indexed`."""

from __future__ import annotations

from typing import Any

from tradebus_knowledge import HashingEmbedder, chunk_text
from tradebus_storage import KnowledgeRepository, NewChunk

DIMENSIONS = 384
EMBEDDER = HashingEmbedder(DIMENSIONS)


async def index_document(
    db: Any,
    tenant_id: str,
    document_id: str,
    title: str,
    text: str,
    *,
    metadata: dict[str, str] | None = None,
    mark_indexed: bool = True,
    max_tokens: int = 24,
) -> list[str]:
    """Store and embed one document; returns its chunk ids."""
    repo = KnowledgeRepository(db)
    await repo.ensure_indexes()
    await repo.upsert_document(
        tenant_id=tenant_id,
        document_id=document_id,
        task_id=f"task-{document_id}",
        title=title,
        metadata=metadata or {},
    )
    chunks = chunk_text(text, max_tokens=max_tokens, overlap_tokens=0)
    await repo.store_chunks(
        tenant_id=tenant_id,
        document_id=document_id,
        chunks=[NewChunk(c.index, c.text, c.token_count, c.content_hash) for c in chunks],
    )
    ids = await repo.chunk_ids(tenant_id, document_id)
    stored = await repo.load_chunks(tenant_id, ids)
    vectors = EMBEDDER.embed_sync([c.text for c in stored])
    await repo.store_vectors(
        tenant_id, document_id, 0, [c.id for c in stored], vectors, model=EMBEDDER.name
    )
    if mark_indexed:
        await repo.mark_indexed(tenant_id, document_id)
    return [c.id for c in stored]


INCOTERMS = (
    "Under DAP the seller delivers the goods to the named place of destination. "
    "Under DAP the buyer pays import duty and clears the goods for import. "
    "Under DDP the seller pays import duty and carries every cost to the destination."
)
PAYMENT = (
    "A confirmed letter of credit protects the exporter against buyer default. "
    "The advising bank checks the presentation of documents against the credit terms."
)
SHIPPING = (
    "Reefer containers keep perishable cargo at a set temperature during ocean transit. "
    "Demurrage is charged when a container stays at the port terminal past the free days."
)
