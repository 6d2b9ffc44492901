from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tradebus_messaging.runner import WorkerSettings


class OmniragIngestSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_OMNIRAG_INGEST_", extra="ignore")

    # Parsing is CPU-bound: few documents at a time per process; scale out with replicas.
    prefetch: int = Field(4, ge=1)
    concurrency: int = Field(2, ge=1)

    chunk_max_tokens: int = Field(256, ge=16)
    chunk_overlap_tokens: int = Field(32, ge=0)
    embed_batch_size: int = Field(64, ge=1, le=1000)

    fetch_timeout_seconds: float = Field(20.0, gt=0)
    fetch_max_bytes: int = Field(10 * 1024 * 1024, gt=0)
    # URL sources: refuse addresses inside the cluster/host unless explicitly allowed
    # (server-side request forgery); local development and tests turn it on.
    fetch_allow_private_addresses: bool = False
