from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

IN_FLIGHT = Gauge(
    "tradebus_downstream_in_flight", "Calls in flight per downstream.", ["downstream"]
)
CALL_SECONDS = Histogram(
    "tradebus_downstream_seconds",
    "Latency of one attempt against a downstream, by outcome.",
    ["downstream", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CALLS = Counter(
    "tradebus_downstream_calls_total",
    "Guarded calls per downstream by final outcome (ok, timeout, busy, circuit_open, ...).",
    ["downstream", "outcome"],
)
RETRIES = Counter("tradebus_downstream_retries_total", "Retries per downstream.", ["downstream"])
BREAKER_STATE = Gauge(
    "tradebus_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open.", ["downstream"]
)
