"""`assess`: gather evidence about a counterparty from the search providers and the
tenant's knowledge base (all under the fan-out gate), score it with the rubric, and
explain it: an LLM paragraph grounded in the evidence when one is configured, else one
composed from the factor explanations."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import structlog

from tradebus_contracts import AssessReply, AssessRequest, Evidence, RubricFactor
from tradebus_providers import ChatModel, SearchProvider, SearchResult
from tradebus_resilience import DownstreamError
from tradebus_retrieval import RetrievedChunk

from .adapters import KnowledgeBaseSearch
from .domain.evidence import (
    KNOWLEDGE_BASE,
    Item,
    assess_queries,
    from_documents,
    from_search,
    names_it,
)
from .domain.rubric import Assessment, RubricPolicy, assess, compose_rationale
from .fanout import OK, Call, Deadline, FanOutGate, worst
from .prompts import rationale_messages

log = structlog.get_logger(__name__)
RATIONALE_SKIPPED = "llm:rationale_skipped"


class Assessor:
    def __init__(
        self,
        *,
        providers: Sequence[SearchProvider],
        knowledge_base: KnowledgeBaseSearch | None,
        chat: ChatModel | None,
        gate: FanOutGate,
        policy: RubricPolicy,
        result_limit: int,
        kb_k: int,
        evidence_limit: int,
        rationale_max_tokens: int,
    ) -> None:
        self._providers = list(providers)
        self._kb = knowledge_base
        self._chat = chat
        self._gate = gate
        self._policy = policy
        self._result_limit = result_limit
        self._kb_k = kb_k
        self._evidence_limit = evidence_limit
        self._max_tokens = rationale_max_tokens

    async def assess(self, request: AssessRequest, deadline: Deadline) -> AssessReply:
        started = time.perf_counter()
        name = request.counterparty.strip()
        searches = [
            self._gate.search(
                p, q, tenant_id=request.tenant_id, limit=self._result_limit, deadline=deadline
            )
            for p in self._providers
            for q in assess_queries(name, request.country)
        ]
        kb, calls = await asyncio.gather(
            self._knowledge(name, request.tenant_id, deadline), asyncio.gather(*searches)
        )
        searched = time.perf_counter()
        degraded = _failures(calls, kb)
        web = from_search(
            name, [r for c in calls if c.outcome == OK for r in c.value or []], request.website
        )
        own = from_documents(name, (kb.value or []) if kb is not None else [])
        result = assess(name, website=request.website, evidence=web + own, policy=self._policy)
        shown = self._shown(name, web, own)
        scored = time.perf_counter()
        rationale: str | None = None
        if request.rationale:
            rationale = await self._rationale(request, result, shown, deadline)
            if rationale is None:
                degraded.append(RATIONALE_SKIPPED)
        latency = _latency(calls, kb) | {
            "search": _ms(started, searched),
            "rubric": _ms(searched, scored),
            "rationale": _ms(scored, time.perf_counter()),
            "total": _ms(started, time.perf_counter()),
        }
        log.info(
            "assessed",
            score=result.score,
            band=result.band,
            evidence=len(web) + len(own),
            degraded=degraded,
            total_ms=latency["total"],
        )
        return AssessReply(
            counterparty=name,
            score=result.score,
            band=result.band,
            factors=[RubricFactor.model_validate(f, from_attributes=True) for f in result.factors],
            evidence=[Evidence.model_validate(i, from_attributes=True) for i in shown],
            rationale=rationale,
            partial=any(d != RATIONALE_SKIPPED for d in degraded),
            degraded=degraded,
            latency_ms=latency,
        )

    async def _knowledge(
        self, name: str, tenant_id: str, deadline: Deadline
    ) -> Call[list[RetrievedChunk]] | None:
        kb = self._kb
        if kb is None:
            return None

        async def chunks(timeout: float) -> list[RetrievedChunk]:
            return await kb.chunks(name, k=self._kb_k, tenant_id=tenant_id, timeout=timeout)

        return await self._gate.call(KNOWLEDGE_BASE, chunks, deadline)

    async def _rationale(
        self,
        request: AssessRequest,
        result: Assessment,
        evidence: Sequence[Item],
        deadline: Deadline,
    ) -> str | None:
        """None when the LLM was asked and could not answer in time."""
        if self._chat is None:
            return compose_rationale(request.counterparty, result)
        remaining = deadline.remaining()
        if remaining <= 0:
            return None
        messages = rationale_messages(request, result, evidence)
        try:
            async with asyncio.timeout(remaining):
                text = await self._chat.complete(
                    messages, max_tokens=self._max_tokens, timeout=remaining
                )
        except (DownstreamError, TimeoutError) as exc:
            log.warning("rationale skipped", error=f"{type(exc).__name__}: {exc}")
            return None
        return text.strip() or None

    def _shown(self, name: str, web: list[Item], own: list[Item]) -> list[Item]:
        """What the reply carries: the pages naming the counterparty verbatim first, and
        up to half the room for the tenant's own documents."""
        web = sorted(web, key=lambda i: not names_it(name, i))
        own = own[: self._evidence_limit // 2]
        return web[: self._evidence_limit - len(own)] + own


def _failures(
    calls: Sequence[Call[list[SearchResult]]], kb: Call[list[RetrievedChunk]] | None
) -> list[str]:
    """`search:<provider>:<outcome>` (a provider asked twice reports its worst outcome)
    and `knowledge_base:<outcome>`, for each source that did not answer."""
    outcomes: dict[str, list[str]] = {}
    for call in calls:
        outcomes.setdefault(call.provider, []).append(call.outcome)
    failed = [
        f"search:{provider}:{outcome}"
        for provider, seen in outcomes.items()
        if (outcome := worst(seen)) != OK
    ]
    if kb is not None and kb.outcome != OK:
        failed.append(f"{KNOWLEDGE_BASE}:{kb.outcome}")
    return failed


def _latency(
    calls: Sequence[Call[list[SearchResult]]], kb: Call[list[RetrievedChunk]] | None
) -> dict[str, float]:
    slowest: dict[str, float] = {}
    for call in calls:
        slowest[call.provider] = max(slowest.get(call.provider, 0.0), call.ms)
    latency = {f"search:{p}": round(ms, 1) for p, ms in slowest.items()}
    if kb is not None:
        latency[KNOWLEDGE_BASE] = round(kb.ms, 1)
    return latency


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000, 1)
