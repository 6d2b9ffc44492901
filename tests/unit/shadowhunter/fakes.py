"""Hand-written fakes of shadowhunter's ports: search providers, the tenant index, the
LLM. Each records what it was asked."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tradebus_providers import ChatMessage, SearchResult
from tradebus_resilience import DownstreamError
from tradebus_retrieval import RetrievedChunk


def result(provider: str, title: str, url: str | None = None, snippet: str = "") -> SearchResult:
    return SearchResult(title=title, url=url, snippet=snippet, provider=provider)


@dataclass
class FakeSearch:
    """Answers every query with the same results, or fails with `error`."""

    name: str
    results: list[SearchResult] = field(default_factory=list)
    error: Exception | None = None
    queries: list[str] = field(default_factory=list)
    timeouts: list[float | None] = field(default_factory=list)

    async def search(
        self, query: str, *, limit: int, tenant_id: str, timeout: float | None = None
    ) -> list[SearchResult]:
        self.queries.append(query)
        self.timeouts.append(timeout)
        if self.error is not None:
            raise self.error
        return [SearchResult(r.title, r.url, r.snippet, self.name, r.score) for r in self.results][
            :limit
        ]


@dataclass
class HangingSearch:
    """Never answers (an engine that accepted the connection and went quiet), and
    ignores the timeout it is given: the caller's own deadline must end the call."""

    name: str
    started: int = 0

    async def search(
        self, query: str, *, limit: int, tenant_id: str, timeout: float | None = None
    ) -> list[SearchResult]:
        self.started += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class Concurrency:
    """Counts calls in flight across any number of providers: the highest count seen is
    the concurrency the fan-out gate let through."""

    def __init__(self) -> None:
        self.now = 0
        self.max = 0
        self.calls = 0

    def enter(self) -> None:
        self.now += 1
        self.calls += 1
        self.max = max(self.max, self.now)

    def exit(self) -> None:
        self.now -= 1


@dataclass
class SlowSearch:
    """Yields to the event loop a few times while holding its call open, so every other
    ready call gets the chance to start: overlap is forced by scheduling, not by time."""

    name: str
    counter: Concurrency
    yields: int = 5

    async def search(
        self, query: str, *, limit: int, tenant_id: str, timeout: float | None = None
    ) -> list[SearchResult]:
        self.counter.enter()
        try:
            for _ in range(self.yields):
                await asyncio.sleep(0)
        finally:
            self.counter.exit()
        return [result(self.name, f"{self.name} Trading Co", f"https://{self.name}.example")]


@dataclass
class FakeIndex:
    """The tenant index: returns its chunks, best first, for the tenant it holds."""

    tenant_id: str
    chunks: list[RetrievedChunk] = field(default_factory=list)
    error: Exception | None = None
    queries: list[str] = field(default_factory=list)

    async def search(
        self,
        tenant_id: str,
        query: str,
        k: int,
        *,
        filters: Mapping[str, str] | None = None,
    ) -> list[RetrievedChunk]:
        self.queries.append(query)
        if self.error is not None:
            raise self.error
        return self.chunks[:k] if tenant_id == self.tenant_id else []


@dataclass
class FakeChat:
    name: str = "fake-llm"
    reply: str = "A grounded paragraph [1]."
    error: DownstreamError | None = None
    asked: list[Sequence[ChatMessage]] = field(default_factory=list)

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 512,
        timeout: float | None = None,
    ) -> str:
        self.asked.append(messages)
        if self.error is not None:
            raise self.error
        return self.reply
