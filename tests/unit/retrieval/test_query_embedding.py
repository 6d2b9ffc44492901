"""The index cache embeds a question with the embedder's query side (asymmetric models
such as E5 prefix queries and passages differently), and finds Chinese chunks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np

from tradebus_knowledge import HashingEmbedder
from tradebus_retrieval import TenantIndexCache
from tradebus_storage import IndexedDocument, StoredChunk, TenantVectors

TEXTS = {
    "d1:0": "单价为每吨615美元,CFR越南胡志明市吉莱港。",
    "d1:1": "买方应在2026年5月15日之前开立不可撤销即期信用证。",
    "d2:0": "Under DAP the buyer pays import duty.",
}


class Knowledge:
    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix

    async def indexed_documents(self, tenant_id: str) -> dict[str, IndexedDocument]:
        return {d: IndexedDocument(d, d, {}) for d in ("d1", "d2")}

    async def tenant_vectors(self, tenant_id: str, dimensions: int, **_: Any) -> TenantVectors:
        return TenantVectors(list(TEXTS), self.matrix)

    async def load_chunks(self, tenant_id: str, ids: Sequence[str]) -> list[StoredChunk]:
        return [StoredChunk(i, i.split(":")[0], int(i.split(":")[1]), TEXTS[i]) for i in ids]


class QuerySide(HashingEmbedder):
    """Hashing, with a query side that records its calls."""

    def __init__(self) -> None:
        super().__init__(128)
        self.queries: list[str] = []

    async def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        self.queries.extend(texts)
        return self.embed_sync(texts)


def test_questions_go_through_the_query_side_and_find_the_chinese_chunk() -> None:
    embedder = QuerySide()
    repo: Any = Knowledge(embedder.embed_sync(list(TEXTS.values())))
    cache = TenantIndexCache(repo, embedder)
    hits = asyncio.run(cache.search("t", "信用证什么时候开立?", 1))
    assert [h.id for h in hits] == ["d1:1"]
    assert embedder.queries == ["信用证什么时候开立?"]
