"""dealbrain's Prometheus metrics (the runtime's per-queue metrics come on top)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# The empty-recall alert divides empty by all.
RETRIEVALS = Counter(
    "tradebus_dealbrain_retrievals_total",
    "Knowledge-base retrievals of asks, by outcome (hit, empty).",
    ["outcome"],
)
DEGRADED = Counter(
    "tradebus_dealbrain_degraded_total",
    "Asks answered with a degradation (rerank:bm25, llm:extractive, session:unsaved).",
    ["degradation"],
)
STAGE_SECONDS = Histogram(
    "tradebus_dealbrain_stage_seconds",
    "Time per ask stage (retrieve, rerank, answer, total).",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SUMMARIES = Counter(
    "tradebus_dealbrain_summaries_total",
    "Session summary commands by outcome (llm, extractive, duplicate, missing, conflict).",
    ["outcome"],
)
# The recall patrol (`dealbrain.recall.evaluate.v1`): the latest run's scores per tenant.
RECALL_AT_K = Gauge(
    "tradebus_dealbrain_recall_at_k",
    "Share of sampled chunks the ask's retrieval ranked within k, latest run per tenant.",
    ["tenant"],
)
RECALL_MRR = Gauge(
    "tradebus_dealbrain_recall_mrr",
    "Mean reciprocal rank of the sampled chunks, latest run per tenant.",
    ["tenant"],
)
RECALL_EVALUATIONS = Counter(
    "tradebus_dealbrain_recall_evaluations_total",
    "Recall evaluations of a tenant by outcome (evaluated, below_threshold, empty, duplicate).",
    ["outcome"],
)
