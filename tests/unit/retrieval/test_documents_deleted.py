"""A deleted document leaves a replica's in-memory index: the pure index, and the
refresh queue that brings the event (the same per-replica queue as `indexed`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tradebus_contracts import REGISTRY
from tradebus_messaging import Bus, BusSettings
from tradebus_retrieval import TenantIndex, document_of, subscribe_index_refresh
from tradebus_storage import IndexedDocument, chunk_id


def index_of(*documents: tuple[str, int]) -> TenantIndex:
    docs = {d: IndexedDocument(d, d.upper(), {}) for d, _ in documents}
    ids = [chunk_id(d, i) for d, n in documents for i in range(n)]
    matrix = np.eye(len(ids), 8, dtype=np.float32)
    return TenantIndex.build(8, docs, ids, matrix)


def test_a_versioned_chunk_id_still_names_its_document() -> None:
    assert chunk_id("doc", 3) == "doc:3"
    assert chunk_id("doc", 3, version=4) == "doc#4:3"
    assert document_of("doc#4:3") == document_of("doc:3") == "doc"


def test_removing_a_document_drops_its_rows_and_keeps_the_others() -> None:
    index = index_of(("a", 2), ("b", 3))
    assert index.remove_document("a") is True
    assert len(index) == 3 and set(index.documents) == {"b"}
    hits = index.search(np.eye(5, 8, dtype=np.float32)[0], 5, {})
    assert {document_of(h.chunk_id) for h in hits} == {"b"}
    assert index.remove_document("a") is False  # a repeated event changes nothing
    assert len(index) == 3


def test_a_reindexed_document_is_replaced_by_its_new_version_ids() -> None:
    index = index_of(("a", 2))
    new = [chunk_id("a", 0, version=2)]
    index.add_document(IndexedDocument("a", "A", {}), new, np.ones((1, 8), dtype=np.float32))
    assert index.chunks["a"] == new and len(index) == 1


def test_the_replica_queue_also_takes_deleted_events() -> None:
    bus = Bus(BusSettings(service="dealbrain"), registry=REGISTRY)
    cache: Any = None  # never called: only the declared topology is inspected
    queue = subscribe_index_refresh(
        bus, cache, service="dealbrain", replica_id="pod-a", expires_seconds=600
    )
    keys = {b.routing_key for b in bus.topology().bindings if b.destination == queue}
    # (besides the retry network's binding for this queue)
    assert {"omnirag.document.indexed.v1", "omnirag.document.deleted.v1"} <= keys
