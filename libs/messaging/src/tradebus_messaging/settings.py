"""Bus configuration, read from the environment by the composition root."""

from __future__ import annotations

import socket
from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .fairness import parse_weights


class BusSettings(BaseSettings):
    """Settings for one process's connection to RabbitMQ.

    Per-endpoint prefetch and concurrency are passed to ``Bus.subscribe``; the
    values here are the defaults a service's own settings usually override.
    """

    # populate_by_name: code and tests may pass `url=` although the env name is RABBITMQ_URL.
    model_config = SettingsConfigDict(
        env_prefix="TRADEBUS_BUS_", extra="ignore", populate_by_name=True
    )

    url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/",
        validation_alias=AliasChoices("RABBITMQ_URL", "TRADEBUS_BUS_URL"),
    )
    management_url: str = "http://guest:guest@127.0.0.1:15672"
    service: str = "tradebus"
    host: str = Field(default_factory=socket.gethostname)

    prefetch: int = Field(default=32, ge=1, le=65535)
    concurrency: int = Field(default=16, ge=1)

    # Attempts are counted by the runtime (header); x-delivery-limit only stops
    # crash loops, so it is set well above max_attempts.
    max_attempts: int = Field(default=5, ge=1)
    delivery_limit: int = Field(default=20, ge=1)
    retry_base_seconds: float = Field(default=1.0, gt=0)
    retry_cap_seconds: float = Field(default=300.0, gt=0)
    # Outages of MongoDB or the broker retry for this long after the first failure,
    # without spending attempts, waiting at most `outage_retry_cap_seconds` between tries.
    outage_budget_seconds: float = Field(default=900.0, ge=0)
    outage_retry_cap_seconds: float = Field(default=30.0, gt=0)
    # A delivery the broker redelivered this often (its consumer kept dying) is parked
    # by the runtime, with a reason and a faulted event, before x-delivery-limit drops it.
    poison_redeliveries: int = Field(default=10, ge=1)
    # Default hard time limit of one handler run; `subscribe(time_limit_seconds=...)`
    # overrides it per endpoint.
    handler_time_limit_seconds: float = Field(default=600.0, gt=0)
    # Binary delay levels: 2^0 .. 2^(levels-1) seconds; max delay = 2^levels - 1 s.
    delay_levels: int = Field(default=18, ge=1, le=28)

    # Fair endpoints (`subscribe(fair=True)`): shards per endpoint, and tenants' weights
    # (`tenant-a=3,tenant-b=1`: a weight w spreads the tenant over w shards). Every
    # process must use the same shard count: publishers choose the shard.
    fair_shards: int = Field(default=8, ge=1, le=64)
    fair_weights: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)

    max_body_bytes: int = Field(default=1_048_576, ge=1)
    # Parked copies keep at most this much of the body (plus its size): bounded disk.
    parked_body_max_bytes: int = Field(default=65_536, ge=0)
    # /healthz fails when a consumer has been missing this long (Kubernetes restarts it).
    consumer_missing_unhealthy_seconds: float = Field(default=120.0, gt=0)
    # Consumption rate limits per queue, across every replica (`limits` notation), e.g.
    # {"dealbrain.summarize": "10/minute"}; `subscribe(rate_limit=...)` sets a default.
    # Shared through Redis when a URL is set, per replica otherwise.
    consume_rates: dict[str, str] = Field(default_factory=dict)
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("TRADEBUS_BUS_REDIS_URL", "REDIS_URL")
    )
    limits_prefix: str = Field(default="tradebus", min_length=1, max_length=64)
    connect_timeout_seconds: float = 10.0
    reconnect_max_seconds: float = 10.0
    shutdown_grace_seconds: float = 25.0
    publish_timeout_seconds: float = 10.0
    inbox_retention_seconds: int = 7 * 24 * 3600

    @field_validator("fair_weights", mode="before")
    @classmethod
    def _weights(cls, value: Any) -> Any:
        return parse_weights(value) if isinstance(value, str) else value
