"""shadowhunter's own settings (`TRADEBUS_SHADOWHUNTER_*`). Search endpoints and the LLM
come from `tradebus_providers` (`TRADEBUS_SEARCH_*`, `TRADEBUS_LLM_*`), the query embedder
from `TRADEBUS_EMBED_*` (it must be the one omnirag-embed indexed with)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from tradebus_messaging.runner import WorkerSettings, default_replica_id

from .domain.rubric import RISK_TERMS
from .domain.text import words


class LeadWeights(BaseModel):
    """Weights of the lead score's factors. They need not sum to 1: the score divides by
    the weights of the factors that apply, so it stays in 0..1 either way."""

    relevance: float = Field(0.4, ge=0)
    corroboration: float = Field(0.25, ge=0)
    fit: float = Field(0.2, ge=0)
    knowledge_base: float = Field(0.15, ge=0)


class RubricWeights(BaseModel):
    """Weights of the assessment rubric; they sum to 1 so the score is out of 100."""

    identity: float = Field(0.25, ge=0, le=1)
    web_presence: float = Field(0.2, ge=0, le=1)
    corroboration: float = Field(0.2, ge=0, le=1)
    relationship_history: float = Field(0.15, ge=0, le=1)
    adverse_media: float = Field(0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> Self:
        total = sum(self.model_dump().values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"rubric weights must sum to 1, they sum to {total:.4f}")
        return self


class ShadowhunterSettings(WorkerSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRADEBUS_SHADOWHUNTER_", env_nested_delimiter="__", extra="ignore"
    )

    # Per endpoint: prefetch bounds what the broker hands over, concurrency what runs.
    # Requests are I/O-bound fan-outs, so several run at once per process.
    prefetch: int = Field(16, ge=1)
    concurrency: int = Field(16, ge=1)
    # The fan-out gate: provider calls in flight from this process, all requests together.
    # Each provider's own Downstream budget (TRADEBUS_SEARCH_*) applies underneath it.
    fanout_limit: int = Field(8, ge=1)
    provider_result_limit: int = Field(10, ge=1, le=50, description="Results asked per call.")
    # Kept back from every downstream call's share of the deadline: time to dedupe,
    # score and send the reply before the caller gives up.
    deadline_reserve_ms: int = Field(150, ge=0)
    # Used when a request carries no deadline (a caller that did not set one).
    default_deadline_ms: int = Field(10_000, ge=100)

    # The knowledge base's own budget is TRADEBUS_SHADOWHUNTER_KNOWLEDGE_BASE_* (concurrency,
    # total_timeout_seconds, breaker, ...: tradebus_resilience.DownstreamSettings).
    knowledge_base_provider: bool = Field(
        True, description="Search the tenant's own documents alongside the HTTP providers."
    )
    knowledge_base_k: int = Field(12, ge=1, le=100, description="Chunks per knowledge query.")
    # Exact vector search always returns k chunks; below this cosine they are unrelated.
    knowledge_base_min_score: float = Field(0.05, ge=-1, le=1)
    index_refresh_seconds: float = Field(300.0, gt=0)
    index_max_tenants: int = Field(64, ge=1)
    # Each replica learns of newly indexed documents on
    # `shadowhunter.index-refresh.<replica_id>`, deleted by the broker after
    # `refresh_queue_expires_seconds` without a consumer (a replica that died).
    replica_id: str = Field(default_factory=default_replica_id)
    refresh_queue_expires_seconds: float = Field(600.0, ge=1)

    # Two organisation names this similar (difflib ratio of the normalised names) are
    # the same lead.
    name_similarity: float = Field(0.9, gt=0, le=1)
    # Hosts of directories and social networks: one such domain lists many organisations,
    # so sharing it says nothing about being the same one.
    shared_domains: list[str] = Field(
        default_factory=lambda: [
            "linkedin.com",
            "facebook.com",
            "twitter.com",
            "x.com",
            "instagram.com",
            "youtube.com",
            "wikipedia.org",
            "crunchbase.com",
            "bloomberg.com",
            "dnb.com",
            "zoominfo.com",
            "opencorporates.com",
            "kompass.com",
            "alibaba.com",
            "made-in-china.com",
            "globalsources.com",
            "yellowpages.com",
            "google.com",
            "reddit.com",
            "medium.com",
        ]
    )
    lead_weights: LeadWeights = Field(default_factory=LeadWeights)
    rubric_weights: RubricWeights = Field(default_factory=RubricWeights)

    # Assessment: sources at which a count-based factor reaches 1.
    identity_saturation: int = Field(3, ge=1)
    corroboration_saturation: int = Field(5, ge=1)
    relationship_saturation: int = Field(3, ge=1)
    adverse_saturation: int = Field(2, ge=1)
    risk_window_words: int = Field(12, ge=1, description="Risk terms this near the name count.")
    # Adverse media and trade-compliance red flags, as word prefixes ("sanction",
    # "under declar", "enhanced due diligence"); replacing the list replaces it all.
    risk_terms: list[str] = Field(default_factory=lambda: list(RISK_TERMS), min_length=1)
    evidence_limit: int = Field(20, ge=1, description="Evidence items returned per reply.")
    rationale_max_tokens: int = Field(300, ge=32)

    @field_validator("risk_terms")
    @classmethod
    def _risk_terms_have_words(cls, terms: list[str]) -> list[str]:
        empty = [t for t in terms if not words(t)]
        if empty:
            raise ValueError(f"risk terms without a word in them: {empty}")
        return terms
