"""Composition root of dealbrain: settings in, a Worker out. Nothing connects at import;
tests call `build` with their own bus, MongoDB and provider settings."""

from __future__ import annotations

from tradebus_contracts import REGISTRY, AskRequest, EvaluateRecall, SummarizeSession
from tradebus_knowledge import EmbeddingSettings, build_embedder
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.runner import Worker
from tradebus_providers import (
    BM25Reranker,
    ExtractiveAnswerer,
    LLMSettings,
    RerankSettings,
    build_chat,
    build_reranker,
    close_providers,
)
from tradebus_retrieval import TenantIndexCache, subscribe_index_refresh
from tradebus_storage import (
    KnowledgeRepository,
    MongoSettings,
    RagQualityRepository,
    open_database,
    ping,
)

from .adapters import BufferedRetrievalStats, MongoRetrievalStats, MongoSessionStore
from .adapters.recall_corpus import MongoRecallCorpus
from .answering import Answerer
from .handlers import AskHandler, EvaluateRecallHandler, SummarizeHandler
from .pipeline import AskPipeline, AskPolicy
from .recall import RecallPatrol, RecallPolicy
from .reranking import Reranking
from .settings import DealbrainSettings
from .summarizer import SessionSummarizer

SERVICE = "dealbrain"
ASK_QUEUE = "dealbrain.ask"
SUMMARIZE_QUEUE = "dealbrain.summarize"
RECALL_QUEUE = "dealbrain.recall"


async def build(
    settings: DealbrainSettings,
    *,
    bus_settings: BusSettings | None = None,
    mongo: MongoSettings | None = None,
    embedding: EmbeddingSettings | None = None,
    llm: LLMSettings | None = None,
    rerank: RerankSettings | None = None,
) -> Worker:
    bus_settings = bus_settings or BusSettings(service=SERVICE)
    client, db = open_database(mongo)
    sessions = MongoSessionStore(
        db,
        ttl_days=settings.session_ttl_days,
        keep_summarized_turns=settings.keep_summarized_turns,
    )
    stats_store = MongoRetrievalStats(db, retention_days=settings.stats_retention_days)
    await sessions.ensure_indexes()
    await stats_store.ensure_indexes()
    quality = RagQualityRepository(db)
    await quality.ensure_indexes()
    stats = BufferedRetrievalStats(stats_store, flush_seconds=settings.stats_flush_seconds)

    # The query embedder must be the one omnirag-embed indexes with (TRADEBUS_EMBED_*).
    embedder = build_embedder(embedding or EmbeddingSettings())
    cache = TenantIndexCache(
        KnowledgeRepository(db),
        embedder,
        max_tenants=settings.index_max_tenants,
        refresh_seconds=settings.index_refresh_seconds,
    )
    chat = build_chat(llm or LLMSettings())  # None: extractive answers by configuration
    reranker = build_reranker(rerank or RerankSettings())
    fallback = reranker if isinstance(reranker, BM25Reranker) else BM25Reranker()
    extractive = ExtractiveAnswerer()
    reserve = settings.answer_reserve_ms / 1000
    pipeline = AskPipeline(
        retriever=cache,
        reranker=reranker,
        fallback_reranker=fallback,
        answerer=Answerer(
            chat=chat,
            extractive=extractive,
            reserve=reserve,
            llm_min=settings.llm_min_ms / 1000,
            max_tokens=settings.answer_max_tokens,
            sentences=settings.extractive_sentences,
        ),
        sessions=sessions,
        stats=stats,
        policy=AskPolicy(
            max_top_k=settings.max_top_k,
            rerank_candidates=settings.rerank_candidates,
            min_score=settings.min_score,
            answer_reserve=reserve,
            rerank_timeout=settings.rerank_timeout_ms / 1000,
            session_token_threshold=settings.session_token_threshold,
            recent_turns=settings.recent_turns,
        ),
    )
    summarizer = SessionSummarizer(
        sessions=sessions,
        chat=chat,
        extractive=extractive,
        max_tokens=settings.summary_max_tokens,
        # The last attempt the runtime allows must degrade, never park the command.
        llm_attempts=min(settings.summarize_llm_attempts, bus_settings.max_attempts),
        timeout=settings.summarize_timeout_seconds,
    )

    # The patrol measures the ask's own retrieval: the same cache, reranker and fallback.
    patrol = RecallPatrol(
        corpus=MongoRecallCorpus(db),
        retriever=cache,
        reranking=Reranking(
            reranker, fallback, reserve=reserve, cap=settings.rerank_timeout_ms / 1000
        ),
        chat=chat,
        store=quality,
        embedder=embedder.name,
        policy=RecallPolicy(
            rerank_candidates=settings.rerank_candidates,
            min_score=settings.min_score,
            threshold=settings.recall_threshold,
            idf_chunks=settings.recall_idf_chunks,
            query_terms=(
                settings.recall_query_min_terms,
                max(settings.recall_query_min_terms, settings.recall_query_max_terms),
            ),
            query_noise=settings.recall_query_noise,
            use_llm=settings.recall_llm_questions,
            llm_attempts=min(settings.recall_llm_attempts, bus_settings.max_attempts),
            llm_concurrency=settings.recall_llm_concurrency,
            question_seconds=settings.recall_question_timeout_seconds,
        ),
    )

    bus = Bus(bus_settings, registry=REGISTRY)
    bus.serve(
        queue=ASK_QUEUE,
        request_type=AskRequest.message_type,
        handler=AskHandler(pipeline, default_deadline_seconds=settings.default_deadline_seconds),
        prefetch=settings.prefetch,
        concurrency=settings.concurrency,
    )
    bus.subscribe(
        queue=SUMMARIZE_QUEUE,
        message_types=[SummarizeSession.message_type],
        handler=SummarizeHandler(summarizer),
        prefetch=settings.summarize_prefetch,
        concurrency=settings.summarize_concurrency,
        rate_limit=settings.summarize_rate_limit,
    )
    bus.subscribe(
        queue=RECALL_QUEUE,
        message_types=[EvaluateRecall.message_type],
        handler=EvaluateRecallHandler(patrol, bus.publish),
        prefetch=settings.recall_prefetch,
        concurrency=settings.recall_concurrency,
        time_limit_seconds=settings.recall_time_limit_seconds,
    )
    # Fan-out: every replica keeps its own index, so every replica needs every event.
    subscribe_index_refresh(
        bus,
        cache,
        service=SERVICE,
        replica_id=settings.replica_id,
        expires_seconds=settings.refresh_queue_expires_seconds,
    )

    async def close() -> None:
        await stats.close()
        await cache.close()
        await close_providers(chat, reranker)
        await client.close()

    return Worker(
        service=SERVICE,
        bus=bus,
        http_host=settings.http_host,
        http_port=settings.http_port,
        checks={"mongodb": lambda: ping(db)},
        on_stop=close,
    )
