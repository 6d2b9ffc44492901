"""One tenant's searchable chunks in memory: an exact vector index plus, per row, the
document it belongs to (for metadata filters and titles). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from tradebus_knowledge import ExactIndex, Hit
from tradebus_storage import IndexedDocument


def document_of(chunk_id: str) -> str:
    """Chunk ids are `<document id>:<index>`, or `<document id>#<version>:<index>`
    after a reindex."""
    return chunk_id.rsplit(":", 1)[0].split("#", 1)[0]


@dataclass
class TenantIndex:
    vectors: ExactIndex
    documents: dict[str, IndexedDocument]
    # document id -> its chunk ids in the index, so a re-indexed document is replaced
    chunks: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def empty(cls, dimensions: int) -> TenantIndex:
        return cls(ExactIndex(dimensions), {})

    @classmethod
    def build(
        cls,
        dimensions: int,
        documents: Mapping[str, IndexedDocument],
        ids: Sequence[str],
        matrix: np.ndarray,
    ) -> TenantIndex:
        """The searchable rows: vectors of documents that are indexed (a vector batch
        can land before its document is marked indexed, or outlive its deletion)."""
        index = cls.empty(dimensions)
        index.documents.update(documents)
        keep = [i for i, cid in enumerate(ids) if document_of(cid) in documents]
        if keep:
            kept = [ids[i] for i in keep]
            index.vectors.add(kept, matrix[keep])
            for cid in kept:
                index.chunks.setdefault(document_of(cid), []).append(cid)
        return index

    def add_document(
        self, document: IndexedDocument, ids: Sequence[str], matrix: np.ndarray
    ) -> None:
        """Add a document, or replace it: chunks a re-indexed version no longer has
        leave the index."""
        stale = set(self.chunks.pop(document.id, ())) - set(ids)
        if stale:
            self.vectors.remove(sorted(stale))
        self.documents[document.id] = document
        if ids:
            self.vectors.add(ids, matrix)
            self.chunks[document.id] = list(ids)

    def remove_document(self, document_id: str) -> bool:
        """Drop a document and its chunks; returns whether it was here."""
        known = self.documents.pop(document_id, None) is not None
        ids = self.chunks.pop(document_id, ())
        if ids:
            self.vectors.remove(sorted(ids))
        return known or bool(ids)

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
