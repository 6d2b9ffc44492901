from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from tradebus_messaging.runner import WorkerSettings


class NotifierSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_NOTIFIER_", extra="ignore")

    prefetch: int = 32
    concurrency: int = 8
