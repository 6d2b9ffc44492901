"""The declared topology (the shared base, the platform's endpoints from settings, and
every endpoint found on the broker with a parking lot) against the live broker."""

from __future__ import annotations

from typing import Any

from tradebus_messaging import BusSettings
from tradebus_messaging.topology import QueueSpec, Topology, base_topology, endpoint_topology
from tradebus_messaging.topology import parking_queue as lot_of
from tradebus_messaging.verify import Drift, LiveState, compare


def expected_topology(live: LiveState, bus: BusSettings, declared: list[str]) -> Topology:
    topo = base_topology(bus.delay_levels)
    for name, queue in live.queues.items():
        if name.endswith(".dlq") or lot_of(name) not in live.queues:
            continue
        arguments = queue.get("arguments") or {}
        topo = topo + endpoint_topology(
            name,
            exchange="",
            routing_keys=(),
            levels=bus.delay_levels,
            queue_type="quorum" if arguments.get("x-queue-type") == "quorum" else "classic",
            delivery_limit=bus.delivery_limit,
            # RPC queues are never dead-lettered by the broker; their lot is the runtime's
            dead_letter="x-dead-letter-exchange" in arguments,
            parking_lot=True,
        )
    for name in declared:
        if name not in live.queues:  # missing: the check names it, arguments aside
            topo = topo + Topology(queues=(QueueSpec(name),))
        if lot_of(name) not in live.queues:
            topo = topo + Topology(queues=(QueueSpec(lot_of(name), {"x-queue-type": "quorum"}),))
    # endpoint_topology binds each routing key of an exchange; none was named ("").
    return Topology(topo.exchanges, topo.queues, tuple(b for b in topo.bindings if b.source))


def declared_items(topo: Topology) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"kind": "exchange", "name": e.name, "arguments": {"type": e.type, "durable": e.durable}}
        for e in topo.exchanges
    ]
    items += [{"kind": "queue", "name": q.name, "arguments": q.arguments} for q in topo.queues]
    items += [
        {
            "kind": "binding",
            "name": f"{b.source} -> {b.destination}",
            "arguments": {"routing_key": b.routing_key, "destination_type": b.destination_type},
        }
        for b in topo.bindings
    ]
    return items


def drift_items(topo: Topology, live: LiveState) -> list[dict[str, Any]]:
    return [_item(d, topo, live) for d in compare(topo, live)]


def _item(drift: Drift, topo: Topology, live: LiveState) -> dict[str, Any]:
    problem = drift.problem
    kind = "missing" if problem.startswith("missing") else "different"
    if problem.startswith("unexpected"):
        kind = "unexpected"
    expected: Any = None
    actual: Any = None
    if drift.kind == "queue":
        spec = next((q for q in topo.queues if q.name == drift.name), None)
        expected = None if spec is None else spec.arguments
        got = live.queues.get(drift.name)
        actual = None if got is None else (got.get("arguments") or {})
    elif drift.kind == "exchange":
        ex = next((e for e in topo.exchanges if e.name == drift.name), None)
        expected = None if ex is None else {"type": ex.type, "durable": ex.durable}
        got = live.exchanges.get(drift.name)
        actual = None if got is None else {"type": got.get("type"), "durable": got.get("durable")}
    else:
        expected = problem if problem.startswith("missing") else None
        actual = problem if problem.startswith("unexpected") else None
    return {
        "kind": drift.kind,
        "name": drift.name,
        "problem": kind,
        "detail": problem,
        "expected": expected,
        "actual": actual,
    }
