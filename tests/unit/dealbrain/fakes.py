"""Hand-written fakes for dealbrain's ports: in memory, deterministic, and recording
what the pipeline asked of them."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tradebus_dealbrain.domain import (
    SessionContext,
    SessionState,
    StoredSession,
    Turn,
    recent_context,
)
from tradebus_knowledge import bm25_rerank
from tradebus_providers.types import Answer, ChatMessage, Passage
from tradebus_retrieval import RetrievedChunk

NOW = datetime(2025, 3, 1, 12, 30, 15, tzinfo=UTC)


class ManualClock:
    """A monotonic clock that moves only when a test (or a fake) says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def chunk(doc: str, i: int, text: str, score: float = 0.5, title: str = "") -> RetrievedChunk:
    return RetrievedChunk(f"{doc}:{i}", doc, title or doc.upper(), text, score)


class FakeRetriever:
    def __init__(self, by_tenant: Mapping[str, list[RetrievedChunk]] | None = None) -> None:
        self.by_tenant = dict(by_tenant or {})
        self.calls: list[tuple[str, str, int, Mapping[str, str] | None]] = []
        self.hang = False

    async def search(
        self, tenant_id: str, query: str, k: int, *, filters: Mapping[str, str] | None = None
    ) -> list[RetrievedChunk]:
        self.calls.append((tenant_id, query, k, filters))
        if self.hang:
            await asyncio.Event().wait()
        return self.by_tenant.get(tenant_id, [])[:k]


class FakeReranker:
    """Reverses the candidates (so a test can tell it ran), or fails as told."""

    name = "fake-http"

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.timeouts: list[float | None] = []

    async def rerank(
        self, query: str, texts: Sequence[str], *, top_n: int, timeout: float | None = None
    ) -> list[tuple[int, float]]:
        self.timeouts.append(timeout)
        if self.error is not None:
            raise self.error
        return [(i, 1.0 / (1 + r)) for r, i in enumerate(reversed(range(len(texts))))][:top_n]


class FakeBM25:
    name = "bm25"

    def __init__(self) -> None:
        self.calls = 0

    async def rerank(
        self, query: str, texts: Sequence[str], *, top_n: int, timeout: float | None = None
    ) -> list[tuple[int, float]]:
        self.calls += 1
        return bm25_rerank(query, texts)[:top_n]


class FakeChat:
    """Replies with `reply`, or fails with `error`; `takes` moves the clock as if the
    call lasted that long."""

    name = "fake-llm"

    def __init__(
        self,
        reply: str = "The buyer pays [1].",
        *,
        error: Exception | None = None,
        clock: ManualClock | None = None,
        takes: float = 0.0,
        hang: bool = False,
    ) -> None:
        self.reply, self.error = reply, error
        self.clock, self.takes, self.hang = clock, takes, hang
        self.calls: list[tuple[list[ChatMessage], int, float | None]] = []

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 512,
        timeout: float | None = None,
    ) -> str:
        self.calls.append((list(messages), max_tokens, timeout))
        if self.clock is not None:
            self.clock.advance(self.takes)
        if self.hang:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error
        return self.reply


class FakeExtractive:
    """Quotes the first sentence of each of the first two passages, cited like the real
    extractive answerer ([n] markers, 0-based `cited`)."""

    def __init__(self) -> None:
        self.answered = 0
        self.summarized: list[tuple[list[str], int]] = []

    def answer(
        self, question: str, passages: Sequence[Passage], *, max_sentences: int = 4
    ) -> Answer:
        self.answered += 1
        if not passages:
            return Answer("The available documents do not answer this question.")
        picked = list(range(min(2, len(passages))))
        text = " ".join(f"{passages[i].text.split('.')[0]} [{i + 1}]." for i in picked)
        return Answer(text, picked)

    def summarize(self, texts: Sequence[str], *, max_tokens: int) -> str:
        self.summarized.append((list(texts), max_tokens))
        return "extractive: " + " | ".join(texts)[:200]


@dataclass
class _Doc:
    summary: str = ""
    summarized_through: int = -1
    summarized_tokens: int = 0
    turns: list[Turn] = field(default_factory=list)


class FakeSessions:
    """The session store's contract in memory: tenant-scoped keys, numbered turns,
    compare-and-set summaries."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], _Doc] = {}
        self.fail_append: Exception | None = None
        self.lose_next_cas = False  # another summary lands first, once

    async def context(self, tenant_id: str, session_id: str, *, recent: int) -> SessionContext:
        doc = self.docs.get((tenant_id, session_id))
        if doc is None:
            return SessionContext()
        return recent_context(doc.summary, doc.turns, doc.summarized_through, recent)

    async def append(self, tenant_id: str, session_id: str, turns: Sequence[Turn]) -> SessionState:
        if self.fail_append is not None:
            raise self.fail_append
        doc = self.docs.setdefault((tenant_id, session_id), _Doc())
        for turn in turns:
            doc.turns.append(Turn(turn.role, turn.content, turn.at, turn.tokens, len(doc.turns)))
        total = sum(t.tokens for t in doc.turns)
        return SessionState(len(doc.turns), doc.summarized_through, total - doc.summarized_tokens)

    async def load(self, tenant_id: str, session_id: str) -> StoredSession | None:
        doc = self.docs.get((tenant_id, session_id))
        if doc is None:
            return None
        return StoredSession(doc.summary, doc.summarized_through, tuple(doc.turns))

    async def store_summary(
        self,
        tenant_id: str,
        session_id: str,
        *,
        expected_through: int,
        through: int,
        summary: str,
        folded_tokens: int,
    ) -> bool:
        doc = self.docs[(tenant_id, session_id)]
        if self.lose_next_cas:
            self.lose_next_cas = False
            doc.summary, doc.summarized_through = "someone else's", expected_through + 1
            doc.summarized_tokens += doc.turns[expected_through + 1].tokens
            return False
        if doc.summarized_through != expected_through:
            return False
        doc.summary, doc.summarized_through = summary, through
        doc.summarized_tokens += folded_tokens
        return True


class FakeStats:
    def __init__(self, error: Exception | None = None) -> None:
        self.recorded: list[tuple[str, bool, datetime]] = []
        self.error = error

    async def record(self, tenant_id: str, *, empty: bool, at: datetime) -> None:
        if self.error is not None:
            raise self.error
        self.recorded.append((tenant_id, empty, at))


def metric(name: str, **labels: Any) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0
