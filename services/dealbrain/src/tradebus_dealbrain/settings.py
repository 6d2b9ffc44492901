"""dealbrain's own knobs (`TRADEBUS_DEALBRAIN_*`). The LLM, reranker and query embedder
have settings of their own (`TRADEBUS_LLM_*`, `TRADEBUS_RERANK_*`, `TRADEBUS_EMBED_*`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tradebus_messaging.runner import WorkerSettings, default_replica_id


class DealbrainSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_DEALBRAIN_", extra="ignore")

    # `dealbrain.ask`: prefetch bounds what the broker hands over, concurrency what runs.
    # Asks spend most of their time waiting on the LLM, so several run at once.
    prefetch: int = Field(16, ge=1)
    concurrency: int = Field(8, ge=1)

    # Retrieval: a request's top_k is capped here; the reranker sees `rerank_candidates`
    # chunks (at least top_k) and keeps the best top_k.
    max_top_k: int = Field(20, ge=1)
    rerank_candidates: int = Field(20, ge=1)
    # Chunks whose similarity to the question is not above this are not evidence; a
    # retrieval left with none counts as empty (the empty-recall alert's signal).
    min_score: float = 0.0

    # Deadline budgeting. Every downstream call gets the request's remaining time minus
    # `answer_reserve_ms`, which is kept for the extractive fallback, the session write
    # and the reply. Requests without a deadline get `default_deadline_seconds`.
    default_deadline_seconds: float = Field(15.0, gt=0)
    answer_reserve_ms: int = Field(250, ge=0)
    # The reranker never takes more than this of the budget, so the LLM keeps most of it.
    rerank_timeout_ms: int = Field(1500, gt=0)
    # Less time than this left for the LLM: don't start a call that cannot finish.
    llm_min_ms: int = Field(500, ge=0)
    answer_max_tokens: int = Field(512, ge=16)
    extractive_sentences: int = Field(4, ge=1)

    # Conversation sessions. The newest `recent_turns` unsummarised turns go into the
    # prompt verbatim, with the running summary. When the turns not yet summarised
    # pass `session_token_threshold` tokens, all but the newest `recent_turns` are
    # folded into the summary off the request path (`dealbrain.summarize`).
    session_token_threshold: int = Field(1500, ge=1)
    recent_turns: int = Field(6, ge=0)
    summary_max_tokens: int = Field(300, ge=16)
    # Summarised turns older than this many are dropped from the stored transcript,
    # so a long conversation never reaches MongoDB's document size limit.
    keep_summarized_turns: int = Field(50, ge=0)
    session_ttl_days: int = Field(30, ge=1)
    # `dealbrain.summarize`: attempts that retry a transient LLM failure (through the
    # runtime's delayed retries) before the summary degrades to an extractive one.
    summarize_llm_attempts: int = Field(3, ge=1)
    summarize_timeout_seconds: float = Field(30.0, gt=0)
    summarize_prefetch: int = Field(4, ge=1)
    summarize_concurrency: int = Field(2, ge=1)
    # Summaries consumed at most this fast across every replica (`limits` notation, e.g.
    # `10/minute`: the LLM's budget); unset, no limit. Shared through REDIS_URL.
    summarize_rate_limit: str | None = None

    # Per-tenant, per-minute retrieval counters in MongoDB (`retrieval_stats`).
    stats_retention_days: int = Field(14, ge=1)
    # Counted in memory and written this often: no ask waits on a statistic.
    stats_flush_seconds: float = Field(5.0, gt=0)

    # The in-memory index cache: tenants kept loaded, and the age after which a tenant's
    # index is rebuilt from MongoDB in the background (heals missed refresh events).
    index_max_tenants: int = Field(64, ge=1)
    index_refresh_seconds: float = Field(300.0, gt=0)
    # Every replica consumes `omnirag.document.indexed.v1` on a queue of its own,
    # `dealbrain.index-refresh.<replica_id>`, deleted by the broker after
    # `refresh_queue_expires_seconds` without a consumer (a replica that died).
    replica_id: str = Field(default_factory=default_replica_id)
    refresh_queue_expires_seconds: float = Field(600.0, ge=1)

    # The recall patrol (`dealbrain.recall`, README "Recall patrol"): recall@k below
    # `recall_threshold` is flagged on the record and the event (None: never flagged).
    recall_threshold: float | None = Field(0.7, ge=0, le=1)
    # Offline questions: simulated queries of min..max terms drawn by tf-idf (statistics
    # from a sample of `recall_idf_chunks` chunks), each replaced by a common corpus term
    # with probability `recall_query_noise`.
    recall_idf_chunks: int = Field(2000, ge=1)
    recall_query_min_terms: int = Field(3, ge=1)
    recall_query_max_terms: int = Field(5, ge=1)
    recall_query_noise: float = Field(0.2, ge=0, le=1)
    # With an LLM configured it writes the questions; False keeps them offline.
    recall_llm_questions: bool = True
    # Attempts of the command that retry a transient LLM failure; the last one asks
    # offline questions instead.
    recall_llm_attempts: int = Field(3, ge=1)
    recall_llm_concurrency: int = Field(4, ge=1)
    recall_question_timeout_seconds: float = Field(15.0, gt=0)
    # A background job: one tenant at a time, so it never crowds out the asks.
    recall_prefetch: int = Field(1, ge=1)
    recall_concurrency: int = Field(1, ge=1)
    recall_time_limit_seconds: float = Field(900.0, gt=0)
