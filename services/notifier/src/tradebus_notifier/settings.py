"""notifier's knobs (`TRADEBUS_NOTIFIER_*`); the bus has its own (`TRADEBUS_BUS_*`)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from tradebus_messaging.runner import WorkerSettings

from .alert_settings import DEFAULT_QUEUES, AlertChannel, default_rules
from .domain.alert_rules import Rule
from .domain.schedule import DEFAULT_DELAYS


class NotifierSettings(WorkerSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRADEBUS_NOTIFIER_", extra="ignore", populate_by_name=True
    )

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
    # TRADEBUS_WEBHOOK_ALLOWED_NETWORKS sets it here and in the gateway (which refuses a
    # forbidden URL when it is subscribed) at once.
    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices(
            "TRADEBUS_NOTIFIER_WEBHOOK_ALLOWED_NETWORKS", "TRADEBUS_WEBHOOK_ALLOWED_NETWORKS"
        ),
    )

    # -- scheduled jobs (README "Scheduled jobs"; the schedules themselves and the
    # catch-up window are TRADEBUS_SCHEDULES / TRADEBUS_SCHEDULE_CATCH_UP_SECONDS,
    # shared with the gateway, which shows them) -------------------------------------
    scheduler_enabled: bool = True
    # How often a replica looks for due slots (it also wakes at the next slot).
    scheduler_tick_seconds: float = Field(1.0, gt=0)
    # A slot claimed but not recorded as published this long is taken over and
    # published again (same message id) by whichever replica looks first ...
    scheduler_republish_grace_seconds: float = Field(60.0, gt=0)
    # ... until the slot is this old; then the run is marked `abandoned`.
    scheduler_give_up_seconds: float = Field(6 * 3600.0, gt=0)
    # Run records (the claims) expire this long after the claim (TTL index).
    scheduler_run_retention_seconds: int = Field(30 * 24 * 3600, gt=0)

    # -- alerts (README "Alerts"; the shapes in alert_settings.py) ------------------
    alerts_enabled: bool = True
    # One replica evaluates at a time (a lease); each evaluation reads every signal once.
    alert_interval_seconds: float = Field(30.0, gt=0)
    alert_rules: list[Rule] = Field(default_factory=default_rules)
    # Work queues the queue rules watch by default (parking lot: `<queue>.dlq`).
    alert_queues: list[str] = Field(default_factory=lambda: list(DEFAULT_QUEUES))
    # Operator channels, JSON: [{"kind": "slack", "url": "https://hooks.slack.com/..."}, ...]
    alert_channels: list[AlertChannel] = Field(default_factory=list)
    # SSRF guard for channel URLs, like webhook_allowed_networks (CIDRs, JSON list).
    alert_allowed_networks: list[str] = Field(default_factory=list)
    alert_channel_timeout_seconds: float = Field(10.0, gt=0)
    alert_notify_prefetch: int = Field(16, ge=1)
    alert_notify_concurrency: int = Field(4, ge=1)

    @model_validator(mode="after")
    def _alert_names_unique(self) -> NotifierSettings:
        rules = [r.name for r in self.alert_rules]
        if len(set(rules)) != len(rules):
            raise ValueError("alert rule names must be unique")
        channels = [c.name for c in self.alert_channels]
        if len(set(channels)) != len(channels):
            raise ValueError("alert channel names must be unique")
        return self

    @field_validator("alert_channels", mode="after")
    @classmethod
    def _name_channels(cls, channels: list[AlertChannel]) -> list[AlertChannel]:
        return [
            c if c.name else c.model_copy(update={"name": f"{c.kind}-{i + 1}"})
            for i, c in enumerate(channels)
        ]
