from __future__ import annotations

from prometheus_client import Counter, Gauge

INDEX_LOADS = Counter("tradebus_retrieval_index_loads_total", "Full tenant index (re)builds.")
INDEX_CHUNKS = Gauge(
    "tradebus_retrieval_index_chunks", "Chunks in a loaded tenant index.", ["tenant"]
)
