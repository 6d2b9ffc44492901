from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tradebus_messaging.runner import WorkerSettings


class OmniragEmbedSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_OMNIRAG_EMBED_", extra="ignore")

    # In-process embedders (hashing, local model) are CPU-bound: one batch at a time per
    # process, and scale with replicas. With a remote provider (openai), raise both to
    # keep several requests in flight. The fair queue's 8 shards share the prefetch: 16
    # gives each lane 2, the next batch at hand while one runs, even for a lone tenant.
    prefetch: int = Field(16, ge=1)
    concurrency: int = Field(1, ge=1)
    # The embedding budget: calls in flight to the embedding provider from this process.
    embed_concurrency: int = Field(1, ge=1)
