"""Web search through the SearXNG JSON API (`/search?format=json`), one provider per
configured endpoint (a SearXNG instance, or one engine behind a compatible proxy)."""

from __future__ import annotations

from typing import Any

import httpx

from tradebus_resilience import Downstream

from ._http import HttpProvider, json_body, malformed
from .types import SearchResult


class HttpSearchProvider(HttpProvider):
    def __init__(
        self,
        name: str,
        downstream: Downstream,
        *,
        base_url: str,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(downstream, base_url=base_url, api_key=api_key, transport=transport)
        self.name = name

    async def search(
        self, query: str, *, limit: int, tenant_id: str, timeout: float | None = None
    ) -> list[SearchResult]:
        # tenant_id stays here: a third-party engine has no business knowing our tenants.
        if limit <= 0 or not query.strip():
            return []
        params: dict[str, str | int] = {"q": query, "format": "json", "pageno": 1}

        async def attempt() -> list[SearchResult]:
            response = await self._client.get("/search", params=params)
            return self._results(json_body(response, self.downstream.name), limit)

        return await self.downstream.call(attempt, idempotent=True, timeout=timeout)

    def _results(self, body: Any, limit: int) -> list[SearchResult]:
        raw = body.get("results") if isinstance(body, dict) else None
        if not isinstance(raw, list):
            raise malformed(self.downstream.name, "no results list", body)
        # Entries without a title or a URL are unusable as leads; skip them, keep the rest.
        items = [r for r in raw if isinstance(r, dict) and (_text(r, "title") or _text(r, "url"))]
        items = items[:limit]
        scores = [r.get("score") for r in items]
        given = [float(s) for s in scores if isinstance(s, int | float) and s > 0]
        use_given = len(given) == len(items) and bool(given)
        top = max(given) if use_given else 1.0
        return [
            SearchResult(
                title=_text(item, "title") or _text(item, "url"),
                url=_text(item, "url") or None,
                snippet=_text(item, "content"),
                provider=self.name,
                # Engines score on their own scales; rank order is what they agree on.
                score=float(item["score"]) / top if use_given else 1.0 / (rank + 1),
            )
            for rank, item in enumerate(items)
        ]


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    return " ".join(value.split()) if isinstance(value, str) else ""
