"""omnirag-ingest's own knobs (`TRADEBUS_OMNIRAG_INGEST_*`). The bus and MongoDB have
settings of their own (`TRADEBUS_BUS_*`, `RABBITMQ_URL`, `MONGODB_*`)."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from tradebus_messaging.runner import WorkerSettings

# Lists come from the environment comma-separated (`10.1.0.0/16,wiki.corp`).
CommaList = Annotated[list[str], NoDecode]


class OmniragIngestSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_OMNIRAG_INGEST_", extra="ignore")

    # Parsing is CPU-bound: few documents at a time per process; scale out with replicas.
    # The queue is fair (shards, see tradebus_messaging.fairness): prefetch is shared by
    # its lanes. 24 over 8 shards is 3 per lane, the concurrency plus one at hand, so a
    # tenant alone keeps both slots busy (bench-fairness: 0.91x FIFO's throughput; 0.85x
    # with 16, where each lane empties between acks).
    prefetch: int = Field(24, ge=1)
    concurrency: int = Field(2, ge=1)

    chunk_max_tokens: int = Field(256, ge=16)
    chunk_overlap_tokens: int = Field(32, ge=0)
    embed_batch_size: int = Field(64, ge=1, le=1000)
    max_chunks: int = Field(10_000, ge=1)

    # URL sources. The timeout covers the whole fetch, redirects included.
    fetch_timeout_seconds: float = Field(20.0, gt=0)
    fetch_connect_timeout_seconds: float = Field(5.0, gt=0)
    fetch_max_bytes: int = Field(10 * 1024 * 1024, gt=0)
    fetch_max_redirects: int = Field(5, ge=0)
    # Server-side request forgery: only public addresses are fetched, unless a network
    # (CIDR) or hostname is allowlisted here. A hostname entry (`.corp.example` covers its
    # subdomains) admits any address but cloud metadata, which needs a network entry.
    fetch_allow_networks: CommaList = Field(default_factory=list)
    fetch_allow_hosts: CommaList = Field(default_factory=list)

    # The parser sandbox: each document is parsed in a child process under these limits;
    # a document over them fails with `timeout` / `too_complex` and is never retried.
    parse_timeout_seconds: float = Field(30.0, gt=0)
    # Size pods for CONCURRENCY children at once: CONCURRENCY x this + ~250 MB (worker and
    # forkserver) should fit the container memory limit (1 Gi in deploy/k8s).
    parse_memory_mb: int = Field(384, ge=64)
    max_pages: int = Field(2_000, ge=1)
    max_text_chars: int = Field(5_000_000, ge=1)
    max_markup_tags: int = Field(100_000, ge=1)
    # `forkserver` (children forked from a server with the parsers preloaded) or `spawn`.
    parse_start_method: str = Field("forkserver", pattern="^(forkserver|spawn)$")

    # The knowledge-base consistency check (`omnirag-ingest.kb-check`, README "Consistency
    # check"). A document `ingesting` this long whose task is over is stuck; chunks and
    # uploads younger than the safety ages are never judged (an ingest may be in flight).
    kb_check_stuck_after_seconds: float = Field(2 * 3600.0, gt=0)
    kb_check_min_age_seconds: float = Field(3600.0, ge=0)
    kb_check_blob_min_age_seconds: float = Field(24 * 3600.0, ge=0)
    kb_check_report_retention_seconds: int = Field(90 * 24 * 3600, gt=0)
    kb_check_time_limit_seconds: float = Field(1800.0, gt=0)

    @field_validator("fetch_allow_networks", "fetch_allow_hosts", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("fetch_allow_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError names the bad entry
        return value
