"""What the ask pipeline and the summariser need from the outside, as small protocols:
the composition root wires the real adapters, unit tests hand-written fakes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from tradebus_providers.types import Answer, Passage
from tradebus_retrieval import RetrievedChunk

from .sessions import SessionContext, SessionState, StoredSession, Turn


class Retriever(Protocol):
    async def search(
        self,
        tenant_id: str,
        query: str,
        k: int,
        *,
        filters: Mapping[str, str] | None = None,
    ) -> list[RetrievedChunk]: ...


class ExtractiveAnswerer(Protocol):
    """The offline answerer: always available, never fails, needs no deadline."""

    def answer(
        self, question: str, passages: Sequence[Passage], *, max_sentences: int = 4
    ) -> Answer: ...

    def summarize(self, texts: Sequence[str], *, max_tokens: int) -> str: ...


class SessionStore(Protocol):
    """Conversation sessions, always addressed by (tenant, session id): another
    tenant's session is simply not there."""

    async def context(self, tenant_id: str, session_id: str, *, recent: int) -> SessionContext: ...

    async def append(
        self, tenant_id: str, session_id: str, turns: Sequence[Turn]
    ) -> SessionState: ...

    async def load(self, tenant_id: str, session_id: str) -> StoredSession | None: ...

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
        """Compare-and-set on `summarized_through`: False when another summary won."""
        ...


class RetrievalStats(Protocol):
    async def record(self, tenant_id: str, *, empty: bool, at: datetime) -> None: ...
