"""The recall patrol: how well does an ask find what the knowledge base holds?

Per tenant and schedule slot: sample the tenant's searchable chunks (seeded by the slot,
so a redelivered command measures the same chunks), make a question from each (the LLM
when one is configured, else an offline keyword query from the chunk's most distinctive
terms), run each question through the ask's own retrieval (the same index cache, query
embedder, candidate count, `min_score` and reranker, with its BM25 fallback), and score
where the chunk it came from ranked: recall@k and MRR. One record per (tenant, slot, k)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

import structlog

from tradebus_contracts import RecallEvaluated
from tradebus_knowledge import content_hash
from tradebus_providers.types import ChatModel
from tradebus_resilience import DownstreamError, DownstreamHTTPError
from tradebus_storage import RecallRun, StoredChunk

from .domain import Deadline
from .domain.ports import Retriever
from .domain.questions import CorpusStats, clean_question, offline_question, question_messages
from .domain.recall import Target, rank_of, sample, score
from .failures import log_degradation
from .metrics import RECALL_AT_K, RECALL_EVALUATIONS, RECALL_MRR
from .reranking import Reranking

log = structlog.get_logger(__name__)

Method = Literal["offline", "llm"]


class RecallCorpus(Protocol):
    async def tenants(self) -> list[str]: ...

    async def searchable_chunk_ids(self, tenant_id: str) -> list[str]: ...

    async def load(self, tenant_id: str, ids: Sequence[str]) -> list[StoredChunk]: ...


class QualityStore(Protocol):
    async def record(self, run: RecallRun) -> None: ...

    async def get(self, tenant_id: str, slot: datetime, k: int) -> RecallRun | None: ...


@dataclass(frozen=True, slots=True)
class RecallPolicy:
    rerank_candidates: int = 20  # the ask's: the reranker sees as many candidates
    min_score: float = 0.0
    threshold: float | None = 0.7
    idf_chunks: int = 2000  # chunks the term statistics are estimated from
    query_terms: tuple[int, int] = (3, 5)  # offline questions: min and max terms
    query_noise: float = 0.2
    use_llm: bool = True
    llm_attempts: int = 3  # of the command; the last one degrades to offline questions
    llm_concurrency: int = 4
    question_seconds: float = 15.0  # one question's LLM call, and one retrieval


class RetryQuestions(Exception):
    """The LLM failed transiently while attempts remain: let the runtime retry."""


class RecallPatrol:
    def __init__(
        self,
        *,
        corpus: RecallCorpus,
        retriever: Retriever,
        reranking: Reranking,
        chat: ChatModel | None,
        store: QualityStore,
        embedder: str,
        policy: RecallPolicy,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._corpus, self._retriever, self._reranking = corpus, retriever, reranking
        self._chat = chat if policy.use_llm else None
        self._store, self._embedder, self._policy = store, embedder, policy
        self._now = now

    async def tenants(self) -> list[str]:
        return await self._corpus.tenants()

    async def evaluate(
        self, tenant_id: str, *, slot: datetime, sample_size: int, k: int, attempt: int = 1
    ) -> RecallEvaluated | None:
        """The run's result (recorded), or None when the tenant has nothing searchable."""
        done = await self._store.get(tenant_id, slot, k)
        if done is not None:  # a redelivery after the record was written
            RECALL_EVALUATIONS.labels("duplicate").inc()
            return event_of(done)
        started = time.perf_counter()
        population = await self._corpus.searchable_chunk_ids(tenant_id)
        if not population:
            RECALL_EVALUATIONS.labels("empty").inc()
            log.info("recall patrol: nothing searchable", tenant_id=tenant_id)
            return None
        seed = f"{tenant_id}|{slot.isoformat()}"
        targets = sample(population, sample_size, seed=seed)
        background = sample(population, self._policy.idf_chunks, seed=seed + "|idf")
        wanted = list(dict.fromkeys([*targets, *background]))
        chunks = {c.id: c for c in await self._corpus.load(tenant_id, wanted)}
        stats = CorpusStats.of(chunks[i].text for i in background if i in chunks)
        sampled = [chunks[i] for i in targets if i in chunks]  # deleted meanwhile: skipped

        questions, method = await self._questions(sampled, stats, attempt, seed)
        degraded: list[str] = []
        ranks = [
            await self._rank(tenant_id, question, chunk, k, degraded)
            for chunk, question in zip(sampled, questions, strict=True)
        ]
        result = score(ranks, k)
        threshold = self._policy.threshold
        below = threshold is not None and result.samples > 0 and result.recall_at_k < threshold
        run = RecallRun(
            tenant_id=tenant_id,
            at=self._now(),
            slot=slot,
            k=k,
            recall_at_k=result.recall_at_k,
            mrr=result.mrr,
            samples=result.samples,
            method=method,
            embedder=self._embedder,
            threshold=threshold,
            below_threshold=below,
            degraded=sorted(set(degraded)),
        )
        await self._store.record(run)
        RECALL_AT_K.labels(tenant_id).set(run.recall_at_k)
        RECALL_MRR.labels(tenant_id).set(run.mrr)
        RECALL_EVALUATIONS.labels("below_threshold" if below else "evaluated").inc()
        (log.warning if below else log.info)(
            "recall patrol",
            tenant_id=tenant_id,
            k=k,
            recall_at_k=round(run.recall_at_k, 4),
            mrr=round(run.mrr, 4),
            samples=run.samples,
            method=method,
            threshold=threshold,
            seconds=round(time.perf_counter() - started, 2),
        )
        return event_of(run)

    async def _rank(
        self, tenant_id: str, question: str, target: StoredChunk, k: int, degraded: list[str]
    ) -> int | None:
        """Where the ask's retrieval puts the target among the reranked candidates."""
        p = self._policy
        deadline = Deadline.after(p.question_seconds)
        async with asyncio.timeout(p.question_seconds):
            found = await self._retriever.search(tenant_id, question, max(k, p.rerank_candidates))
        found = [c for c in found if c.score > p.min_score]
        if not found:
            return None
        ranked = await self._reranking.rank(
            question, found, len(found), deadline=deadline, degraded=degraded
        )
        pairs = [(c.id, content_hash(c.text)) for c in ranked]
        return rank_of(Target(target.id, content_hash(target.text)), pairs)

    async def _questions(
        self, chunks: list[StoredChunk], stats: CorpusStats, attempt: int, seed: str
    ) -> tuple[list[str], Method]:
        if self._chat is not None and chunks:
            try:
                return await self._llm_questions(chunks), "llm"
            except (DownstreamError, TimeoutError) as exc:
                retryable = not (isinstance(exc, DownstreamHTTPError) and not exc.transient)
                if retryable and attempt < self._policy.llm_attempts:
                    raise RetryQuestions(str(exc) or type(exc).__name__) from exc
                log_degradation(log, "LLM questions failed; asking offline questions", exc)
        p = self._policy
        return [
            offline_question(
                c.text,
                stats,
                random.Random(f"{seed}|{c.id}"),  # the same question on a redelivery
                length=p.query_terms,
                noise=p.query_noise,
            )
            for c in chunks
        ], "offline"

    async def _llm_questions(self, chunks: list[StoredChunk]) -> list[str]:
        assert self._chat is not None
        chat, seconds = self._chat, self._policy.question_seconds
        gate = asyncio.Semaphore(self._policy.llm_concurrency)

        async def one(chunk: StoredChunk) -> str:
            async with gate, asyncio.timeout(seconds):
                reply = await chat.complete(
                    question_messages(chunk.text), max_tokens=96, timeout=seconds
                )
            question = clean_question(reply)
            if not question:
                raise DownstreamError("llm", "the reply held no question")
            return question

        return list(await asyncio.gather(*(one(c) for c in chunks)))


def event_of(run: RecallRun) -> RecallEvaluated:
    return RecallEvaluated(
        tenant_id=run.tenant_id,
        slot=run.slot,
        at=run.at,
        k=run.k,
        recall_at_k=run.recall_at_k,
        mrr=run.mrr,
        samples=run.samples,
        method="llm" if run.method == "llm" else "offline",
        embedder=run.embedder,
        threshold=run.threshold,
        below_threshold=run.below_threshold,
    )
