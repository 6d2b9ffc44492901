"""The command line's own settings: where the gateway is and which key to present."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CliSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    url: str = Field(
        default="http://127.0.0.1:8000",
        # TRADEBUS_GATEWAY_URL is what `tradebus-gateway ingest` read.
        validation_alias=AliasChoices("TRADEBUS_URL", "TRADEBUS_GATEWAY_URL"),
    )
    api_key: str | None = Field(default=None, validation_alias="TRADEBUS_API_KEY")
    timeout_seconds: float = Field(
        default=30.0, gt=0, validation_alias="TRADEBUS_CLI_TIMEOUT_SECONDS"
    )
    # Files per `POST /v1/rag/batches` of `tradebus ingest` (the gateway's own limit bounds it).
    batch_size: int = Field(default=100, ge=1, validation_alias="TRADEBUS_CLI_BATCH_SIZE")
    # Only its presence matters here: with no key, tenants/keys commands then write to the
    # database directly (bootstrap before any operator key exists).
    mongodb_url: str | None = Field(default=None, validation_alias="MONGODB_URL")
