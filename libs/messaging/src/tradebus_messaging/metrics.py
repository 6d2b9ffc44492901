"""Prometheus metrics of the runtime, labelled per queue."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "tradebus_messages_total",
    "Messages seen by a consumer, by outcome "
    "(consumed, acked, retried, parked, duplicate, requeued, expired, dropped, timed_out).",
    ["queue", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "tradebus_handler_seconds",
    "Handler wall time per message.",
    ["queue"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
IN_FLIGHT = Gauge("tradebus_in_flight", "Messages being handled now.", ["queue"])
CONSUMER_UP = Gauge("tradebus_consumer_up", "1 while the queue has a live consumer.", ["queue"])
PUBLISHED = Counter(
    "tradebus_published_total", "Publishes by exchange and outcome.", ["exchange", "outcome"]
)
# Sampled from the management API by one process (queue_stats.QueueStatsSampler, behind
# a lease), not per message: every replica exporting them would only multiply series.
QUEUE_DEPTH = Gauge(
    "tradebus_queue_ready_messages", "Ready messages in a queue (sampled).", ["queue"]
)
QUEUE_UNACKED = Gauge(
    "tradebus_queue_unacked_messages",
    "Messages delivered to consumers and not yet acknowledged (sampled).",
    ["queue"],
)
QUEUE_CONSUMERS = Gauge(
    "tradebus_queue_consumers", "Consumers attached to a queue (sampled).", ["queue"]
)
ENDPOINT_DEPTH = Gauge(
    "tradebus_endpoint_ready_messages",
    "Ready messages of an endpoint: its queue plus a fair endpoint's lanes (sampled).",
    ["endpoint"],
)
QUEUE_OLDEST_AGE = Gauge(
    "tradebus_queue_oldest_message_age_seconds",
    "Age of the oldest ready message (sampled; estimated to one interval on quorum queues).",
    ["queue"],
)
QUEUE_STATS_SUCCESS = Gauge(
    "tradebus_queue_stats_last_success_timestamp_seconds",
    "Unix time of the last successful sample of the broker's queues.",
)
RPC_SECONDS = Histogram(
    "tradebus_rpc_client_seconds",
    "RPC round trip seen by the caller, by outcome.",
    ["type", "outcome"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class QueueMetrics:
    """Label lookups done once per consumer instead of once per message."""

    __slots__ = (
        "acked",
        "consumed",
        "dropped",
        "duplicate",
        "expired",
        "handler",
        "in_flight",
        "parked",
        "requeued",
        "retried",
        "timed_out",
        "up",
    )

    def __init__(self, queue: str) -> None:
        self.consumed = MESSAGES.labels(queue, "consumed")
        self.acked = MESSAGES.labels(queue, "acked")
        self.retried = MESSAGES.labels(queue, "retried")
        self.parked = MESSAGES.labels(queue, "parked")
        self.duplicate = MESSAGES.labels(queue, "duplicate")
        self.requeued = MESSAGES.labels(queue, "requeued")
        self.expired = MESSAGES.labels(queue, "expired")  # RPC requests past their deadline
        self.dropped = MESSAGES.labels(queue, "dropped")  # RPC requests nobody can answer
        self.timed_out = MESSAGES.labels(queue, "timed_out")  # handlers past their limit
        self.handler = HANDLER_SECONDS.labels(queue)
        self.in_flight = IN_FLIGHT.labels(queue)
        self.up = CONSUMER_UP.labels(queue)
