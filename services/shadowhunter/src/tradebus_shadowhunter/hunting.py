"""`hunt`: ask every provider at once under the fan-out gate, turn whatever came back
before the deadline into deduped, scored, ranked leads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import structlog

from tradebus_contracts import HuntReply, HuntRequest, Lead, LeadSource
from tradebus_providers.types import SearchProvider

from .adapters import KNOWLEDGE_BASE
from .domain.leads import MAX_SOURCES, LeadPolicy, ScoredLead, hunt_query, score_leads
from .fanout import OK, Deadline, FanOutGate

log = structlog.get_logger(__name__)


class Hunter:
    def __init__(
        self,
        *,
        providers: Sequence[SearchProvider],
        gate: FanOutGate,
        policy: LeadPolicy,
        result_limit: int,
    ) -> None:
        if not providers:
            raise ValueError("hunting needs at least one search provider")
        self._providers = list(providers)
        self._gate = gate
        self._policy = policy
        self._result_limit = result_limit

    async def hunt(self, request: HuntRequest, deadline: Deadline) -> HuntReply:
        started = time.perf_counter()
        query = hunt_query(request.query, request.country, request.industry)
        calls = await asyncio.gather(
            *(
                self._gate.search(
                    p,
                    query,
                    tenant_id=request.tenant_id,
                    limit=self._result_limit,
                    deadline=deadline,
                )
                for p in self._providers
            )
        )
        searched = time.perf_counter()
        answered = [c for c in calls if c.outcome == OK]
        results = [r for c in answered for r in c.value or []]
        leads = score_leads(
            results,
            query=request.query,
            country=request.country,
            industry=request.industry,
            providers_answered=len(answered),
            kb_provider=KNOWLEDGE_BASE,
            kb_texts=[f"{r.title} {r.snippet}" for r in results if r.provider == KNOWLEDGE_BASE],
            policy=self._policy,
        )[: request.limit]
        ranked = time.perf_counter()
        providers = {c.provider: c.outcome for c in calls}
        failed = [
            f"search:{name}:{outcome}" for name, outcome in providers.items() if outcome != OK
        ]
        latency = {f"search:{c.provider}": round(c.ms, 1) for c in calls}
        latency |= {
            "search": _ms(started, searched),
            "rank": _ms(searched, ranked),
            "total": _ms(started, time.perf_counter()),
        }
        log.info(
            "hunted",
            leads=len(leads),
            results=len(results),
            providers=providers,
            total_ms=latency["total"],
        )
        return HuntReply(
            leads=[_lead(lead) for lead in leads],
            partial=bool(failed),
            providers=providers,
            degraded=failed,
            latency_ms=latency,
        )


def _lead(lead: ScoredLead) -> Lead:
    return Lead(
        name=lead.name,
        url=lead.url,
        score=lead.score,
        factors=lead.factors,
        sources=[
            LeadSource(provider=s.provider, url=s.url, title=s.title, snippet=s.snippet)
            for s in lead.sources[:MAX_SOURCES]
        ],
    )


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000, 1)
