"""Webhook delivery metrics: one count and one latency per attempt, by verdict
(delivered, gone, retry, fail). The per-subscription story is in the delivery log;
labels stay bounded (no subscription or URL labels)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

WEBHOOK_ATTEMPTS = Counter(
    "tradebus_webhook_attempts_total",
    "Webhook delivery attempts by outcome (delivered, gone, retry, fail).",
    ["outcome"],
)
WEBHOOK_SECONDS = Histogram(
    "tradebus_webhook_attempt_seconds",
    "Time from sending a webhook to its answer (or giving up on it), by outcome.",
    ["outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def record_attempt(outcome: str, latency_ms: int | None) -> None:
    WEBHOOK_ATTEMPTS.labels(outcome).inc()
    if latency_ms is not None:  # None: nothing was sent (refused address, open circuit)
        WEBHOOK_SECONDS.labels(outcome).observe(latency_ms / 1000)
