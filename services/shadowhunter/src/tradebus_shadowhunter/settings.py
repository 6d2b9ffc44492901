from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from tradebus_messaging.runner import WorkerSettings


class ShadowhunterSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_SHADOWHUNTER_", extra="ignore")
