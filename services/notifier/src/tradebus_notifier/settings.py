"""notifier's knobs (`TRADEBUS_NOTIFIER_*`); the bus has its own (`TRADEBUS_BUS_*`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from tradebus_messaging.runner import WorkerSettings

from .domain.schedule import DEFAULT_DELAYS


class NotifierSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_NOTIFIER_", extra="ignore")

    prefetch: int = 32
    concurrency: int = 8

    # `notifier.webhook-fanout`: events in, one delivery job per matching subscription out.
    webhook_fanout_prefetch: int = Field(32, ge=1)
    webhook_fanout_concurrency: int = Field(8, ge=1)
    # `notifier.webhook-deliver`: one HTTP POST per job. Mostly waiting on receivers.
    webhook_deliver_prefetch: int = Field(64, ge=1)
    webhook_deliver_concurrency: int = Field(32, ge=1)

    # Seconds before attempt n+1 (the first entry, 0, is the first attempt). JSON list.
    webhook_retry_schedule_seconds: list[int] = Field(
        default_factory=lambda: list(DEFAULT_DELAYS), min_length=1, max_length=50
    )
    webhook_retry_jitter_ratio: float = Field(0.1, ge=0, le=1)
    # A receiver's Retry-After is honoured up to this long.
    webhook_retry_after_cap_seconds: float = Field(36000.0, ge=0)

    # Per request: connect timeout and the whole exchange (connect, send, answer).
    webhook_connect_timeout_seconds: float = Field(5.0, gt=0)
    webhook_timeout_seconds: float = Field(15.0, gt=0)
    # Per subscription and process: requests in flight. A job beyond it waits up to
    # `webhook_gate_wait_seconds` for a slot (at most that many jobs wait per
    # subscription), then is deferred by `webhook_defer_seconds` on the delay network
    # (no attempt spent).
    webhook_subscription_concurrency: int = Field(4, ge=1)
    webhook_gate_wait_seconds: float = Field(0.5, ge=0)
    webhook_defer_seconds: int = Field(1, ge=1)
    # Per subscription: consecutive failed attempts that open its breaker, and how long
    # it stays open (attempts meanwhile fail fast as `circuit open` and are rescheduled).
    webhook_breaker_failure_threshold: int = Field(5, ge=1)
    webhook_breaker_reset_seconds: float = Field(60.0, gt=0)

    # A subscription is disabled after failing continuously this long, or this many
    # attempts in a row (0: no count bound), whichever comes first.
    webhook_disable_after_seconds: float = Field(5 * 24 * 3600.0, gt=0)
    webhook_disable_after_failures: int = Field(0, ge=0)

    # Delivery log records expire this long after their last attempt (TTL index).
    webhook_delivery_log_ttl_seconds: int = Field(30 * 24 * 3600, gt=0)

    # SSRF guard: networks deliveries may reach although private/loopback/link-local
    # (CIDRs, JSON list, e.g. ["10.20.0.0/16"]). Empty in production unless needed.
    webhook_allowed_networks: list[str] = Field(default_factory=list)
