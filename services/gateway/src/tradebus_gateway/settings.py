from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRADEBUS_GATEWAY_", extra="ignore", populate_by_name=True
    )

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = Field("INFO", validation_alias="TRADEBUS_LOG_LEVEL")
    log_json: bool = Field(True, validation_alias="TRADEBUS_LOG_JSON")

    # Auth: when set, this key is created (or kept) for the `default` tenant at start.
    bootstrap_api_key: SecretStr | None = Field(None, validation_alias="TRADEBUS_BOOTSTRAP_API_KEY")
    # ... and this operator key (it belongs to no tenant; operator routes only).
    bootstrap_operator_key: SecretStr | None = Field(
        None, validation_alias="TRADEBUS_BOOTSTRAP_OPERATOR_KEY"
    )
    # Keys are resolved from an in-memory directory, reloaded in full this often (a key
    # revoked elsewhere stops working within it); an unknown key waits for a catch-up load
    # of new keys, at most one per `api_key_catch_up_seconds` whatever the traffic.
    api_key_cache_seconds: float = Field(30.0, ge=0)
    api_key_catch_up_seconds: float = Field(0.25, ge=0)

    # Limits shared by every replica (per-tenant rate and online in-flight budgets) live
    # in Redis when a URL is set; without one, or while Redis fails, each replica counts
    # on its own. `limits_prefix` namespaces the keys (one Redis, several deployments).
    redis_url: str | None = Field(
        None, validation_alias=AliasChoices("TRADEBUS_GATEWAY_REDIS_URL", "REDIS_URL")
    )
    limits_prefix: str = Field("tradebus", min_length=1, max_length=64)

    # Submission limits.
    # Bytes, counted while the body streams in, whatever Content-Length says. A document
    # (upload or inline text, as UTF-8) is at most `max_upload_bytes`; inline text above
    # `inline_text_max_publish_bytes` goes to blob storage and travels by reference, so
    # the command stays far below the bus's message limit.
    max_upload_bytes: int = Field(10 * 1024 * 1024, gt=0)
    inline_text_max_publish_bytes: int = Field(256 * 1024, gt=0)
    # A batch (POST /v1/rag/batches): at most this many documents, this many bytes in
    # all (each document still within `max_upload_bytes`). Admitted as a whole, so a
    # batch larger than a tenant's admission share is never admitted: keep it below.
    max_batch_documents: int = Field(100, ge=1, le=10_000)
    max_batch_bytes: int = Field(50 * 1024 * 1024, gt=0)

    # Admission of ingest work, end to end: the backlog (documents accepted and not
    # finished, every stage) may be at most SLO x drain rate (never below the floor), so
    # accepted work finishes within about `ingest_slo_seconds`; one tenant may hold
    # `ingest_tenant_share` of that, or its quota (JSON object tenant -> documents).
    ingest_slo_seconds: float = Field(900.0, gt=0)
    ingest_backlog_floor: int = Field(200, ge=0)
    ingest_tenant_share: float = Field(0.5, gt=0, le=1)
    ingest_tenant_quotas: dict[str, int] = Field(default_factory=dict)
    # How often the backlog is sampled, and the window the drain rate is measured over.
    admission_sample_seconds: float = Field(1.0, gt=0)
    admission_window_seconds: float = Field(30.0, gt=0)
    retry_after_max_seconds: int = Field(300, ge=1)
    # Retry-After of a 503 (broker away, no server answering, a retryable remote failure).
    unavailable_retry_after_seconds: int = Field(5, ge=1)

    # Per-tenant request rate across all replicas: `tenant_burst` requests per window of
    # burst/rate seconds (sliding window), so the long-run rate is `tenant_rate_per_second`.
    tenant_rate_per_second: float = Field(50.0, gt=0)
    tenant_burst: int = Field(100, ge=1)

    # Task results stay readable this long after the task ends (TTL index).
    result_ttl_seconds: int = Field(7 * 24 * 3600, gt=0)

    # Watchdog (one replica at a time): every interval, re-publish tasks stuck in `queued`
    # and never published (a crash between write and publish) ...
    reconcile_interval_seconds: float = Field(30.0, gt=0)
    reconcile_stuck_seconds: float = Field(60.0, gt=0)
    # ... and queued/retrying tasks published this long ago and untouched since (their
    # message was lost). Keep it well above the longest retry delay and queue wait: a
    # copy that was not lost costs a duplicate delivery (deduplicated, but work).
    watchdog_republish_after_seconds: float = Field(1800.0, gt=0)
    watchdog_batch_size: int = Field(100, ge=1)
    # Unfinished tasks fail with `deadline_exceeded` this long after being queued:
    # per kind (JSON object, e.g. {"rag.ingest": 3600}), else the default.
    task_deadline_seconds: float = Field(3600.0, gt=0)
    task_deadlines: dict[str, float] = Field(default_factory=lambda: {"rag.ingest": 3600.0})

    # Online RPC endpoints. The deadline is the longest a caller waits for the reply (a
    # client may ask for less with X-Request-Timeout, never more); the in-flight budget is
    # how many requests of that endpoint this replica has outstanding before it answers
    # 429 at once instead of queueing callers behind a slow downstream.
    ask_deadline_seconds: float = Field(15.0, gt=0)
    ask_max_in_flight: int = Field(64, ge=1)
    hunt_deadline_seconds: float = Field(20.0, gt=0)
    hunt_max_in_flight: int = Field(32, ge=1)
    assess_deadline_seconds: float = Field(30.0, gt=0)
    assess_max_in_flight: int = Field(32, ge=1)
    # ... and how many one tenant may have outstanding across all replicas, so one tenant
    # cannot take every slot.
    ask_tenant_max_in_flight: int = Field(16, ge=1)
    hunt_tenant_max_in_flight: int = Field(8, ge=1)
    assess_tenant_max_in_flight: int = Field(8, ge=1)
    # X-Request-Timeout below this is raised to it (a shorter deadline only makes 504s).
    min_request_timeout_seconds: float = Field(1.0, gt=0)
    # Retry-After of a 429 from a full in-flight budget: online calls finish in seconds.
    busy_retry_after_seconds: int = Field(1, ge=1)

    # Operator API: the platform's consumer endpoints (their queues and `<queue>.dlq`
    # parking lots are the declared topology the drift check and the parking routes go
    # by), and how many parked messages one lot's summary reads at most.
    operator_endpoints: list[str] = Field(
        default_factory=lambda: [
            "omnirag-ingest.ingest",
            "omnirag-ingest.purge",
            "omnirag-ingest.kb-check",
            "omnirag-embed.embed",
            "dealbrain.ask",
            "dealbrain.summarize",
            "dealbrain.recall",
            "shadowhunter.hunt",
            "shadowhunter.assess",
            "notifier.faults",
            "notifier.tasks",
            "notifier.webhook-fanout",
            "notifier.webhook-deliver",
            "notifier.alert-notify",
            "notifier.sweeps",
            "gateway.task-faults",
        ]
    )
    operator_parking_scan: int = Field(1000, ge=1, le=100_000)
    # One replay call sends back at most this many messages (a lot of a million must not
    # flood its queue in one click); the answer says when more are left to replay.
    operator_replay_limit: int = Field(1000, ge=1, le=100_000)

    # Webhooks: subscriptions per tenant, and how long the previous signing secret keeps
    # signing alongside a rotated one (receivers switch over in that window).
    webhook_max_per_tenant: int = Field(100, ge=1)
    webhook_secret_overlap_seconds: int = Field(24 * 3600, ge=0)
    # A subscribed URL whose host is (or resolves to) a private, loopback, link-local or
    # metadata address is refused with 422, unless in these networks; the notifier checks
    # again, and pins the address, at every delivery. TRADEBUS_WEBHOOK_ALLOWED_NETWORKS
    # sets both services' lists at once.
    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        validation_alias=AliasChoices(
            "TRADEBUS_GATEWAY_WEBHOOK_ALLOWED_NETWORKS", "TRADEBUS_WEBHOOK_ALLOWED_NETWORKS"
        ),
    )
    # How long the up-front check waits for DNS; a name that does not resolve yet is
    # accepted (delivery retries it), a name that resolves inside is not.
    webhook_resolve_timeout_seconds: float = Field(3.0, gt=0)
