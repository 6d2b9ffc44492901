"""The ask pipeline: retrieve, rerank, answer, remember; each step under the request's
deadline and each downstream with a named degradation.

- retrieval (and the session's context, fetched alongside) must finish within the
  deadline, or the ask fails fast with a retryable error: there is nothing to answer from;
- a failing reranker degrades to BM25 (`rerank:bm25`);
- a failing LLM, or one that would not fit the time left, degrades to the extractive
  answer (`llm:extractive`); without an LLM configured extractive is simply the mode;
- `answer_reserve` seconds are always kept back so the fallback, the session write and
  the reply fit before the deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from tradebus_contracts import AskReply, AskRequest, SummarizeSession
from tradebus_providers.types import Passage, Reranker
from tradebus_retrieval import RetrievedChunk

from .answering import Answerer
from .domain import Deadline, SessionContext, Turn, summarize_through
from .domain.evidence import citation_of
from .domain.ports import RetrievalStats, Retriever, SessionStore
from .failures import log_degradation
from .metrics import DEGRADED, RETRIEVALS, STAGE_SECONDS
from .reranking import Reranking

log = structlog.get_logger(__name__)

NOTHING_FOUND = (
    "I found nothing in your knowledge base that answers this. Try rephrasing the "
    "question, or add the relevant documents."
)


class RetrievalTimeout(TimeoutError):
    """Retrieval did not finish within the request's deadline (retryable)."""


@dataclass(frozen=True, slots=True)
class AskPolicy:
    max_top_k: int = 20
    rerank_candidates: int = 20
    min_score: float = 0.0
    answer_reserve: float = 0.25
    rerank_timeout: float = 1.5
    session_token_threshold: int = 1500
    recent_turns: int = 6


@dataclass(frozen=True, slots=True)
class AskOutcome:
    reply: AskReply
    summarize: SummarizeSession | None = None

    @property
    def summarize_message_id(self) -> str | None:
        s = self.summarize
        return None if s is None else f"summarize:{s.tenant_id}:{s.session_id}:{s.through_turn}"


class AskPipeline:
    def __init__(
        self,
        *,
        retriever: Retriever,
        reranker: Reranker,
        fallback_reranker: Reranker,
        answerer: Answerer,
        sessions: SessionStore,
        stats: RetrievalStats,
        policy: AskPolicy,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._retriever = retriever
        self._reranking = Reranking(
            reranker, fallback_reranker, reserve=policy.answer_reserve, cap=policy.rerank_timeout
        )
        self._answerer = answerer
        self._sessions, self._stats = sessions, stats
        self._policy = policy
        self._clock, self._now = clock, now

    async def ask(self, req: AskRequest, *, tenant_id: str, deadline: Deadline) -> AskOutcome:
        p = self._policy
        started = self._clock()
        latency: dict[str, float] = {}
        degraded: list[str] = []
        k = min(req.top_k, p.max_top_k)

        chunks, context = await self._retrieve(
            req, tenant_id, max(k, p.rerank_candidates), deadline
        )
        chunks = [c for c in chunks if c.score > p.min_score]
        mark = self._clock()
        latency["retrieve"] = _ms(mark - started)
        RETRIEVALS.labels("hit" if chunks else "empty").inc()
        stats = asyncio.create_task(self._record(tenant_id, empty=not chunks))

        if chunks:
            ranked = await self._reranking.rank(
                req.question, chunks, k, deadline=deadline, degraded=degraded
            )
            latency["rerank"] = _ms(self._clock() - mark)
            mark = self._clock()
            passages = [Passage(c.id, c.text, c.title, c.score) for c in ranked]
            text, cited = await self._answerer.answer(
                req.question, passages, context, deadline=deadline, degraded=degraded
            )
            citations = [citation_of(ranked[i]) for i in cited]
        else:
            latency["rerank"] = 0.0
            text, citations = NOTHING_FOUND, []
        latency["answer"] = _ms(self._clock() - mark)

        summarize = None
        if req.session_id:
            summarize = await self._remember(tenant_id, req, text, deadline, degraded)
        await _settle(stats, deadline)
        latency["total"] = _ms(self._clock() - started)
        for stage, ms in latency.items():
            STAGE_SECONDS.labels(stage).observe(ms / 1000)
        for name in degraded:
            DEGRADED.labels(name).inc()
        reply = AskReply(
            answer=text,
            citations=citations,
            degraded=degraded,
            latency_ms=latency,
            session_id=req.session_id,
            retrieved=len(chunks),
        )
        return AskOutcome(reply, summarize)

    async def _retrieve(
        self, req: AskRequest, tenant_id: str, n: int, deadline: Deadline
    ) -> tuple[list[RetrievedChunk], SessionContext]:
        """The candidates and the conversation context, fetched concurrently."""

        async def context() -> SessionContext:
            if not req.session_id:
                return SessionContext()
            return await self._sessions.context(
                tenant_id, req.session_id, recent=self._policy.recent_turns
            )

        budget = deadline.budget(self._policy.answer_reserve)
        try:
            async with asyncio.timeout(budget):
                found, ctx = await asyncio.gather(
                    self._retriever.search(tenant_id, req.question, n, filters=req.filters),
                    context(),
                )
        except TimeoutError:
            raise RetrievalTimeout(f"retrieval did not finish within {budget:.2f}s") from None
        return found, ctx

    async def _remember(
        self,
        tenant_id: str,
        req: AskRequest,
        answer: str,
        deadline: Deadline,
        degraded: list[str],
    ) -> SummarizeSession | None:
        """Append the exchange to the session; ask for a summary when it grew too long."""
        assert req.session_id is not None
        at = self._now()
        turns = [Turn.new("user", req.question, at), Turn.new("assistant", answer, at)]
        try:
            async with asyncio.timeout(max(deadline.remaining(), 0.05)):
                state = await self._sessions.append(tenant_id, req.session_id, turns)
        except Exception as exc:
            log_degradation(log, "could not store the session's turns", exc)
            degraded.append("session:unsaved")
            return None
        p = self._policy
        through = summarize_through(
            state, threshold=p.session_token_threshold, keep_recent=p.recent_turns
        )
        if through is None:
            return None
        return SummarizeSession(
            tenant_id=tenant_id, session_id=req.session_id, through_turn=through
        )

    async def _record(self, tenant_id: str, *, empty: bool) -> None:
        try:
            await self._stats.record(tenant_id, empty=empty, at=self._now())
        except Exception as exc:  # a lost count must never fail an ask
            log_degradation(log, "could not record retrieval stats", exc)


async def _settle(task: asyncio.Task[None], deadline: Deadline) -> None:
    """Wait for a best-effort side effect, but never past the deadline: the reply
    matters more than one count."""
    try:
        async with asyncio.timeout(max(deadline.remaining(), 0.0)):
            await task
    except TimeoutError:
        log.warning("retrieval stats not recorded before the deadline; dropped")


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
