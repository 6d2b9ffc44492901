"""The provider protocols. Every implementation raises `tradebus_resilience.DownstreamError`
(a subclass) on failure, so callers degrade by catching one type."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


class ChatModel(Protocol):
    name: str

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 512,
        timeout: float | None = None,
    ) -> str:
        """The assistant's reply text. `timeout` is the caller's remaining time."""
        ...


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk handed to an answerer or reranker."""

    id: str
    text: str
    title: str = ""
    score: float = 0.0


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    cited: list[int] = field(default_factory=list)  # indices into the passages, in order


class Reranker(Protocol):
    name: str

    async def rerank(
        self, query: str, texts: Sequence[str], *, top_n: int, timeout: float | None = None
    ) -> list[tuple[int, float]]:
        """(index into texts, relevance) for the best `top_n`, best first."""
        ...


@dataclass(frozen=True, slots=True)
class SearchResult:
    title: str
    url: str | None
    snippet: str
    provider: str
    score: float = 0.0  # provider's own rank signal in 0..1 when it gives one


class SearchProvider(Protocol):
    name: str

    async def search(
        self, query: str, *, limit: int, tenant_id: str, timeout: float | None = None
    ) -> list[SearchResult]: ...
