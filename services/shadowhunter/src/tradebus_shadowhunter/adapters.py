"""The tenant's own knowledge base as a search provider, so hunting and assessment work
offline on the tenant's documents when no web search is configured.

A chunk of account notes or a supplier directory names several organisations, so a
retrieved chunk becomes one result per organisation it names (the name as title, the
sentences about it as snippet, the website it gives as url), not one result titled by
its document: a hunt is after the organisations, not the files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from tradebus_providers.types import SearchResult
from tradebus_resilience import Downstream
from tradebus_retrieval import RetrievedChunk

from .domain.evidence import KNOWLEDGE_BASE
from .domain.organisations import organisations


class ChunkSearch(Protocol):
    """What `tradebus_retrieval.TenantIndexCache` offers."""

    async def search(
        self,
        tenant_id: str,
        query: str,
        k: int,
        *,
        filters: Mapping[str, str] | None = None,
    ) -> list[RetrievedChunk]: ...


class KnowledgeBaseSearch:
    """A `SearchProvider` over the tenant's index. Calls run under their own Downstream
    budget (a slow MongoDB must not hold every fan-out slot), and chunks below
    `min_score` are dropped: exact search always returns k rows, related or not."""

    name = KNOWLEDGE_BASE

    def __init__(
        self,
        index: ChunkSearch,
        downstream: Downstream,
        *,
        min_score: float = 0.05,
        snippet_chars: int = 600,
    ) -> None:
        self._index = index
        self._downstream = downstream
        self._min_score = min_score
        self._snippet_chars = snippet_chars

    async def chunks(
        self, query: str, *, k: int, tenant_id: str, timeout: float | None = None
    ) -> list[RetrievedChunk]:
        async def search() -> list[RetrievedChunk]:
            return await self._index.search(tenant_id, query, k)

        # One attempt: a retried in-process search would only eat the caller's deadline.
        found = await self._downstream.call(search, idempotent=False, timeout=timeout)
        return [c for c in found if c.score >= self._min_score]

    async def search(
        self, query: str, *, limit: int, tenant_id: str, timeout: float | None = None
    ) -> list[SearchResult]:
        """The organisations the `limit` best chunks name, best chunk first; a chunk that
        names none (a policy, a guide) is one result titled by its document, so it still
        counts as evidence."""
        results = []
        for chunk in await self.chunks(query, k=limit, tenant_id=tenant_id, timeout=timeout):
            score = max(0.0, min(1.0, chunk.score))
            found = organisations(chunk.text)
            if not found:
                results.append(
                    SearchResult(
                        title=chunk.title or chunk.document_id,
                        url=None,
                        snippet=_clip(chunk.text, self._snippet_chars),
                        provider=self.name,
                        score=score,
                    )
                )
            results.extend(
                SearchResult(
                    title=org.name,
                    url=org.website,
                    snippet=_clip(org.snippet, self._snippet_chars),
                    provider=self.name,
                    score=score,
                )
                for org in found
            )
        return results


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"
