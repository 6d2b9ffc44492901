"""A downstream's budget, from environment variables `TRADEBUS_<NAME>_<FIELD>`
(e.g. `TRADEBUS_LLM_CONCURRENCY=4`), so operators tune each one per deployment."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DownstreamSettings(BaseSettings):
    # Built directly (not through `load`), it reads fleet-wide defaults.
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_DOWNSTREAM_", extra="ignore")

    concurrency: int = Field(8, ge=1, description="Calls in flight at once, per process.")
    connect_timeout_seconds: float = Field(1.0, gt=0)
    read_timeout_seconds: float = Field(5.0, gt=0)
    total_timeout_seconds: float = Field(
        10.0, gt=0, description="All attempts and waits of one call, capped by the caller."
    )
    max_attempts: int = Field(3, ge=1, description="Idempotent calls only; others try once.")
    backoff_base_seconds: float = Field(0.1, gt=0)
    backoff_cap_seconds: float = Field(2.0, gt=0)
    retry_after_cap_seconds: float = Field(
        10.0, ge=0, description="Longest Retry-After honoured; longer ones end the retries."
    )
    breaker_failure_threshold: int = Field(5, ge=1, description="Consecutive failures to open.")
    breaker_reset_seconds: float = Field(10.0, gt=0, description="Open → half-open after this.")
    breaker_half_open_calls: int = Field(1, ge=1, description="Probe calls while half-open.")

    @classmethod
    def load(cls, name: str, *, prefix: str = "TRADEBUS_", **defaults: Any) -> Self:
        """Settings of the downstream `name`: environment first, then the service's
        `defaults`, then the field defaults."""
        env_prefix = f"{prefix}{name.upper().replace('-', '_')}_"
        loaded = cls(_env_prefix=env_prefix)
        update = {k: v for k, v in defaults.items() if k not in loaded.model_fields_set}
        return cls.model_validate({**loaded.model_dump(), **update})
