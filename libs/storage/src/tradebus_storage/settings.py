from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MongoSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRADEBUS_MONGO_", extra="ignore", populate_by_name=True
    )

    url: str = Field(
        default="mongodb://127.0.0.1:27017/?directConnection=true",
        validation_alias=AliasChoices("MONGODB_URL", "TRADEBUS_MONGO_URL"),
    )
    database: str = Field(
        default="tradebus",
        validation_alias=AliasChoices("MONGODB_DATABASE", "TRADEBUS_MONGO_DATABASE"),
    )
    server_selection_timeout_ms: int = 5000
    max_pool_size: int = 50
    inbox_retention_seconds: int = 7 * 24 * 3600
