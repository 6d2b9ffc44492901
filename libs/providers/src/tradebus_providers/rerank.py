"""Rerankers: the Cohere/Jina `/v1/rerank` API shape, and BM25 as the offline default."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from tradebus_knowledge import bm25_rerank
from tradebus_resilience import Downstream

from ._http import HttpProvider, json_body, malformed


class HttpReranker(HttpProvider):
    def __init__(
        self,
        downstream: Downstream,
        *,
        base_url: str,
        api_key: str | None,
        model: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(downstream, base_url=base_url, api_key=api_key, transport=transport)
        self.name = f"http:{model}"
        self._model = model

    async def rerank(
        self, query: str, texts: Sequence[str], *, top_n: int, timeout: float | None = None
    ) -> list[tuple[int, float]]:
        top_n = min(top_n, len(texts))
        if top_n <= 0:
            return []
        payload = {"model": self._model, "query": query, "documents": list(texts), "top_n": top_n}

        async def attempt() -> list[tuple[int, float]]:
            response = await self._client.post("/v1/rerank", json=payload)
            return self._ranking(json_body(response, self.downstream.name), len(texts))

        ranking = await self.downstream.call(attempt, idempotent=True, timeout=timeout)
        return ranking[:top_n]

    def _ranking(self, body: Any, count: int) -> list[tuple[int, float]]:
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise malformed(self.downstream.name, "no results list", body)
        ranking: dict[int, float] = {}
        for item in results:
            index = item.get("index") if isinstance(item, dict) else None
            score = item.get("relevance_score") if isinstance(item, dict) else None
            if (
                not isinstance(index, int)
                or isinstance(index, bool)
                or not 0 <= index < count
                or not isinstance(score, int | float)
            ):
                raise malformed(self.downstream.name, f"bad result for {count} documents", item)
            ranking.setdefault(index, float(score))
        return sorted(ranking.items(), key=lambda pair: (-pair[1], pair[0]))


class BM25Reranker:
    """Okapi BM25 over the candidates themselves: no model, no network."""

    name = "bm25"

    async def rerank(
        self, query: str, texts: Sequence[str], *, top_n: int, timeout: float | None = None
    ) -> list[tuple[int, float]]:
        if top_n <= 0 or not texts:
            return []
        return bm25_rerank(query, texts)[:top_n]
