"""One tenant's searchable chunks in memory: an exact vector index plus, per row, the
document it belongs to (for metadata filters and titles). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tradebus_knowledge import ExactIndex, Hit
from tradebus_storage import IndexedDocument


def document_of(chunk_id: str) -> str:
    """Chunk ids are `<document id>:<index>`."""
    return chunk_id.rsplit(":", 1)[0]


@dataclass
class TenantIndex:
    vectors: ExactIndex
    documents: dict[str, IndexedDocument]

    @classmethod
    def empty(cls, dimensions: int) -> TenantIndex:
        return cls(ExactIndex(dimensions), {})

    def add_document(self, document: IndexedDocument, ids: list[str], matrix: np.ndarray) -> None:
        self.documents[document.id] = document
        if ids:
            self.vectors.add(ids, matrix)

    def search(self, query: np.ndarray, k: int, filters: Mapping[str, str]) -> list[Hit]:
        if not filters:
            return self.vectors.search(query, k)
        allowed = {
            doc_id
            for doc_id, doc in self.documents.items()
            if all(doc.metadata.get(key) == value for key, value in filters.items())
        }
        if not allowed:
            return []
        # Over-fetch, then filter: exact search is one matrix product either way.
        wanted = k
        while True:
            hits = self.vectors.search(query, wanted)
            kept = [h for h in hits if document_of(h.chunk_id) in allowed]
            if len(kept) >= k or len(hits) < wanted:
                return kept[:k]
            wanted *= 4

    def __len__(self) -> int:
        return len(self.vectors)
