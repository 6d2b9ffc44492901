from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from tradebus_messaging.runner import WorkerSettings


class DealbrainSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_DEALBRAIN_", extra="ignore")
