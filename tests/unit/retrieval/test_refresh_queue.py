"""Each replica's index-refresh queue: its own, expiring, parking in one shared lot."""

from __future__ import annotations

from typing import Any

from tradebus_contracts import REGISTRY
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.topology import DLX, EVENTS, endpoint_topology
from tradebus_retrieval import refresh_queue, subscribe_index_refresh

REFRESH_QUEUE = "dealbrain.index-refresh"


def test_every_replica_gets_a_queue_of_its_own() -> None:
    assert refresh_queue("dealbrain", "pod-a") == "dealbrain.index-refresh.pod-a"
    assert refresh_queue("dealbrain", "pod-a") != refresh_queue("dealbrain", "pod-b")


def test_subscribing_declares_the_replica_queue_bound_to_indexed_events() -> None:
    bus = Bus(BusSettings(service="dealbrain"), registry=REGISTRY)
    cache: Any = None  # never called: only the declared topology is inspected
    queue = subscribe_index_refresh(
        bus, cache, service="dealbrain", replica_id="pod-a", expires_seconds=600
    )
    topo = bus.topology()
    work = next(q for q in topo.queues if q.name == queue)
    assert work.arguments["x-expires"] == 600_000
    assert any(
        b.destination == queue and b.routing_key == "omnirag.document.indexed.v1"
        for b in topo.bindings
    )


def test_the_queue_expires_and_parks_in_the_shared_lot() -> None:
    topo = endpoint_topology(
        "dealbrain.index-refresh.pod-a",
        exchange=EVENTS,
        routing_keys=("omnirag.document.indexed.v1",),
        levels=4,
        queue_type="classic",
        expires_ms=600_000,
        parking=REFRESH_QUEUE,
    )
    work = next(q for q in topo.queues if q.name == "dealbrain.index-refresh.pod-a")
    assert work.arguments["x-queue-type"] == "classic"
    assert work.arguments["x-expires"] == 600_000
    assert work.arguments["x-dead-letter-routing-key"] == REFRESH_QUEUE
    assert [q.name for q in topo.queues if q.name.endswith(".dlq")] == [
        "dealbrain.index-refresh.dlq"
    ]
    parking = [b for b in topo.bindings if b.source == DLX]
    assert [(b.destination, b.routing_key) for b in parking] == [
        ("dealbrain.index-refresh.dlq", REFRESH_QUEUE)
    ]


def test_endpoints_without_the_options_keep_their_own_parking_lot() -> None:
    topo = endpoint_topology("svc.handler", exchange=EVENTS, routing_keys=("a.v1",), levels=4)
    work = next(q for q in topo.queues if q.name == "svc.handler")
    assert "x-expires" not in work.arguments
    assert work.arguments["x-dead-letter-routing-key"] == "svc.handler"
    assert [q.name for q in topo.queues] == ["svc.handler", "svc.handler.dlq"]
