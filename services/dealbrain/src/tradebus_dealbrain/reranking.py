"""The rerank step: the configured reranker under its share of the deadline, BM25 when it
fails or there is no time for it (`rerank:bm25`)."""

from __future__ import annotations

import asyncio

import structlog

from tradebus_providers.types import Reranker
from tradebus_retrieval import RetrievedChunk

from .domain import Deadline
from .failures import log_degradation

log = structlog.get_logger(__name__)

RERANK_BM25 = "rerank:bm25"


class Reranking:
    def __init__(
        self, reranker: Reranker, fallback: Reranker, *, reserve: float, cap: float
    ) -> None:
        self._reranker, self._fallback = reranker, fallback
        self._reserve, self._cap = reserve, cap

    async def rank(
        self,
        question: str,
        chunks: list[RetrievedChunk],
        k: int,
        *,
        deadline: Deadline,
        degraded: list[str],
    ) -> list[RetrievedChunk]:
        """The best `k` of `chunks`, best first."""
        texts = [c.text for c in chunks]
        budget = deadline.budget(self._reserve, cap=self._cap)
        if budget > 0:
            try:
                async with asyncio.timeout(budget):
                    order = await self._reranker.rerank(question, texts, top_n=k, timeout=budget)
                return pick(chunks, order, k)
            except Exception as exc:  # DownstreamError by contract; anything else is a bug
                log_degradation(log, "reranker failed; degrading to BM25", exc)
        if self._reranker is not self._fallback:  # BM25 configured is the mode, not a fallback
            degraded.append(RERANK_BM25)
        order = await self._fallback.rerank(question, texts, top_n=k)
        return pick(chunks, order, k)


def pick(
    chunks: list[RetrievedChunk], order: list[tuple[int, float]], k: int
) -> list[RetrievedChunk]:
    """The chunks a ranking names, in its order, each once; indices out of range ignored."""
    seen = dict.fromkeys(i for i, _ in order if 0 <= i < len(chunks))
    return [chunks[i] for i in seen][:k]
