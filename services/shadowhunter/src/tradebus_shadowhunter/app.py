"""Composition root of shadowhunter: settings in, a Worker serving `shadowhunter.hunt`
and `shadowhunter.assess` out. Nothing connects until the worker starts."""

from __future__ import annotations

from tradebus_contracts import REGISTRY, AssessRequest, HuntRequest
from tradebus_knowledge import EmbeddingSettings, build_embedder
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.runner import Worker
from tradebus_providers import (
    LLMSettings,
    SearchProvider,
    SearchSettings,
    build_chat,
    build_search_providers,
    close_providers,
)
from tradebus_resilience import Downstream, DownstreamSettings
from tradebus_retrieval import TenantIndexCache, subscribe_index_refresh
from tradebus_storage import KnowledgeRepository, MongoSettings, open_database, ping

from .adapters import KnowledgeBaseSearch
from .assessing import Assessor
from .domain.leads import LeadPolicy
from .domain.rubric import RubricPolicy
from .fanout import FanOutGate
from .handlers import AssessHandler, HuntHandler
from .hunting import Hunter
from .settings import ShadowhunterSettings

SERVICE = "shadowhunter"
HUNT_QUEUE = "shadowhunter.hunt"
ASSESS_QUEUE = "shadowhunter.assess"


async def build(
    settings: ShadowhunterSettings,
    *,
    bus_settings: BusSettings | None = None,
    mongo: MongoSettings | None = None,
    search: SearchSettings | None = None,
    llm: LLMSettings | None = None,
    embedding: EmbeddingSettings | None = None,
) -> Worker:
    """Each `*_settings` argument defaults to the environment (tests pass their own)."""
    client, db = open_database(mongo)
    bus = Bus(bus_settings or BusSettings(service=SERVICE), registry=REGISTRY)

    cache = TenantIndexCache(
        KnowledgeRepository(db),
        build_embedder(embedding or EmbeddingSettings()),
        max_tenants=settings.index_max_tenants,
        refresh_seconds=settings.index_refresh_seconds,
    )
    # In-process search over a cached index: it answers in milliseconds or MongoDB is
    # in trouble, so a short timeout and no retries unless the operator says otherwise.
    kb_budget = DownstreamSettings.load(
        "knowledge_base",
        prefix="TRADEBUS_SHADOWHUNTER_",
        total_timeout_seconds=2.0,
        max_attempts=1,
    )
    knowledge_base = KnowledgeBaseSearch(
        cache,
        Downstream("knowledge_base", kb_budget),
        min_score=settings.knowledge_base_min_score,
    )
    web = build_search_providers(search or SearchSettings())
    # The knowledge base is always a hunt provider when no web search is configured:
    # the service then hunts offline in the tenant's own documents.
    hunt_providers: list[SearchProvider] = list(web)
    if settings.knowledge_base_provider or not web:
        hunt_providers.append(knowledge_base)
    chat = build_chat(llm or LLMSettings())
    gate = FanOutGate(settings.fanout_limit)
    shared = frozenset(settings.shared_domains)

    hunter = Hunter(
        providers=hunt_providers,
        gate=gate,
        policy=LeadPolicy(
            weights=settings.lead_weights.model_dump(),
            name_similarity=settings.name_similarity,
            shared_domains=shared,
        ),
        result_limit=settings.provider_result_limit,
    )
    assessor = Assessor(
        providers=web,
        knowledge_base=knowledge_base,
        chat=chat,
        gate=gate,
        policy=RubricPolicy(
            weights=settings.rubric_weights.model_dump(),
            shared_domains=shared,
            identity_saturation=settings.identity_saturation,
            corroboration_saturation=settings.corroboration_saturation,
            relationship_saturation=settings.relationship_saturation,
            adverse_saturation=settings.adverse_saturation,
            risk_window_words=settings.risk_window_words,
            risk_terms=tuple(settings.risk_terms),
        ),
        result_limit=settings.provider_result_limit,
        kb_k=settings.knowledge_base_k,
        evidence_limit=settings.evidence_limit,
        rationale_max_tokens=settings.rationale_max_tokens,
    )
    deadlines = {
        "default_deadline_seconds": settings.default_deadline_ms / 1000,
        "reserve_seconds": settings.deadline_reserve_ms / 1000,
    }
    bus.serve(
        queue=HUNT_QUEUE,
        request_type=HuntRequest.message_type,
        handler=HuntHandler(hunter, **deadlines),
        prefetch=settings.prefetch,
        concurrency=settings.concurrency,
    )
    # Fan-out: every replica keeps its own index, so every replica needs every event.
    subscribe_index_refresh(
        bus,
        cache,
        service=SERVICE,
        replica_id=settings.replica_id,
        expires_seconds=settings.refresh_queue_expires_seconds,
    )
    bus.serve(
        queue=ASSESS_QUEUE,
        request_type=AssessRequest.message_type,
        handler=AssessHandler(assessor, **deadlines),
        prefetch=settings.prefetch,
        concurrency=settings.concurrency,
    )

    async def close() -> None:
        await cache.close()
        await close_providers(*web, chat)
        await client.close()

    return Worker(
        service=SERVICE,
        bus=bus,
        http_host=settings.http_host,
        http_port=settings.http_port,
        checks={"mongodb": lambda: ping(db)},
        on_stop=close,
    )
