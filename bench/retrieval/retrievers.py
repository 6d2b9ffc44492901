"""The retrievers compared, each through the code the services run:

- `vector`: `TenantIndexCache.search` (libs/retrieval), the index dealbrain and
  shadowhunter query, over an in-memory stand-in for MongoDB (storage is not what is
  measured here);
- `bm25`: the lexical index alone (`tradebus_knowledge.BM25`) over every chunk;
- `hybrid`: what dealbrain's ask does with the offline defaults: the vector index's top
  `rerank_candidates` (20), reranked by `Reranking` with the BM25 reranker;
- `rrf`: reciprocal-rank fusion of `vector` and `bm25` over the whole corpus (k=60)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradebus_dealbrain.domain import Deadline
from tradebus_dealbrain.reranking import Reranking
from tradebus_knowledge import BM25, Analyzer, Embedder, bm25_rerank, terms
from tradebus_providers import BM25Reranker
from tradebus_retrieval import TenantIndexCache
from tradebus_storage import IndexedDocument, StoredChunk, TenantVectors

from .corpus import Passage

TENANT = "bench"
CANDIDATES = 20  # dealbrain's rerank_candidates default


class MemoryKnowledge:
    """The four reads `TenantIndexCache` makes of the knowledge repository."""

    def __init__(self, corpus: Sequence[Passage], matrix: np.ndarray) -> None:
        self._chunks = {
            p.id: StoredChunk(p.id, p.document, int(p.id.rsplit(":", 1)[1]), p.text) for p in corpus
        }
        self._ids = [p.id for p in corpus]
        self._matrix = matrix
        self._documents = {p.document: IndexedDocument(p.document, p.document, {}) for p in corpus}

    async def indexed_documents(self, tenant_id: str) -> dict[str, IndexedDocument]:
        return dict(self._documents)

    async def indexed_document(self, tenant_id: str, document_id: str) -> IndexedDocument | None:
        return self._documents.get(document_id)

    async def tenant_vectors(
        self, tenant_id: str, dimensions: int, *, document_id: str | None = None
    ) -> TenantVectors:
        return TenantVectors(list(self._ids), self._matrix)

    async def load_chunks(self, tenant_id: str, ids: Sequence[str]) -> list[StoredChunk]:
        return [self._chunks[i] for i in ids if i in self._chunks]


class AnalyzedBM25Reranker(BM25Reranker):
    """The service's BM25 reranker with another analyzer (for the jieba variant)."""

    def __init__(self, analyzer: Analyzer) -> None:
        self._analyzer = analyzer

    async def rerank(
        self, query: str, texts: Sequence[str], *, top_n: int, timeout: float | None = None
    ) -> list[tuple[int, float]]:
        return bm25_rerank(query, texts, analyzer=self._analyzer)[:top_n]


@dataclass
class Retrievers:
    """Ranked chunk ids per question, for one embedder and one analyzer."""

    corpus: Sequence[Passage]
    cache: TenantIndexCache
    analyzer: Analyzer = terms
    _bm25: BM25 | None = None

    @classmethod
    async def build(
        cls, corpus: Sequence[Passage], embedder: Embedder, analyzer: Analyzer = terms
    ) -> Retrievers:
        matrix = await embedder.embed([p.text for p in corpus])
        repo: Any = MemoryKnowledge(corpus, matrix)
        return cls(corpus, TenantIndexCache(repo, embedder), analyzer)

    async def vector(self, question: str, k: int) -> list[str]:
        return [c.id for c in await self.cache.search(TENANT, question, k)]

    def bm25(self, question: str, k: int) -> list[str]:
        if self._bm25 is None:
            self._bm25 = BM25([p.text for p in self.corpus], analyzer=self.analyzer)
        ranked = sorted(enumerate(self._bm25.scores(question)), key=lambda s: (-s[1], s[0]))
        return [self.corpus[i].id for i, score in ranked[:k] if score > 0]

    async def hybrid(self, question: str, k: int) -> list[str]:
        found = await self.cache.search(TENANT, question, CANDIDATES)
        reranker = BM25Reranker() if self.analyzer is terms else AnalyzedBM25Reranker(self.analyzer)
        ranking = Reranking(reranker, reranker, reserve=0.0, cap=5.0)
        ranked = await ranking.rank(question, found, k, deadline=Deadline.after(30.0), degraded=[])
        return [c.id for c in ranked]

    async def rrf(self, question: str, k: int) -> list[str]:
        n = len(self.corpus)
        scores: dict[str, float] = {}
        for ranked in (await self.vector(question, n), self.bm25(question, n)):
            for rank, cid in enumerate(ranked):
                scores[cid] = scores.get(cid, 0.0) + 1 / (60 + rank + 1)
        return sorted(scores, key=lambda c: (-scores[c], c))[:k]


def recall_and_mrr(
    rankings: Mapping[int, list[str]], relevant: Mapping[int, set[str]], *, k: int = 5
) -> tuple[float, float]:
    """recall@k (a relevant chunk in the top k) and MRR@10, over the given questions."""
    if not rankings:
        return math.nan, math.nan
    hits = sum(1 for q, ids in rankings.items() if relevant[q] & set(ids[:k]))
    rr = [
        next((1 / (r + 1) for r, cid in enumerate(ids[:10]) if cid in relevant[q]), 0.0)
        for q, ids in rankings.items()
    ]
    return hits / len(rankings), sum(rr) / len(rr)


Method = Callable[[str, int], Any]
