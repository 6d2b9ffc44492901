"""The delay network routes every delay to the right queue after exactly that long.

Simulated with AMQP topic-matching semantics over the declared bindings, so the
test checks the data the runtime actually declares."""

from __future__ import annotations

import re

import pytest

from tradebus_messaging.topology import (
    DELIVER,
    DLX,
    RETRY,
    Topology,
    base_topology,
    delay_routing_key,
    endpoint_topology,
    parking_queue,
)

LEVELS = 6


def topic_matches(pattern: str, key: str) -> bool:
    regex = "^" + re.escape(pattern).replace(r"\*", r"[^.]+").replace(r"\#", r".*") + "$"
    # "a.#" must also match "a" (zero words); handle the ".#" suffix explicitly.
    regex = regex.replace(r"\..*$", r"(\..*)?$")
    return re.match(regex, key) is not None


def route(topo: Topology, exchange: str, key: str) -> list[str]:
    """Queues a message published to `exchange` with `key` lands in."""
    queues: list[str] = []
    for b in topo.bindings:
        if b.source == exchange and topic_matches(b.routing_key, key):
            if b.destination_type == "exchange":
                queues += route(topo, b.destination, key)
            else:
                queues.append(b.destination)
    return queues


def travel(topo: Topology, key: str, queue: str) -> tuple[str, int]:
    """Follow a delayed message hop by hop; return (final queue, total delay ms)."""
    specs = {q.name: q for q in topo.queues}
    total = 0
    hops = route(topo, RETRY, key)
    for _ in range(LEVELS + 1):
        assert len(hops) == 1, f"{key} fanned out to {hops}"
        where = hops[0]
        if where == queue:
            return where, total
        args = specs[where].arguments
        total += args["x-message-ttl"]
        hops = route(topo, args["x-dead-letter-exchange"], key)
    raise AssertionError(f"{key} never reached {queue}")


@pytest.fixture(scope="module")
def topo() -> Topology:
    return base_topology(LEVELS) + endpoint_topology(
        "svc.handler", exchange="tradebus.commands", routing_keys=("a.b.c.v1",), levels=LEVELS
    )


@pytest.mark.parametrize("delay", range(0, 2**LEVELS))
def test_every_delay_arrives_after_exactly_that_long(topo: Topology, delay: int) -> None:
    key = delay_routing_key(delay, "svc.handler", LEVELS)
    assert travel(topo, key, "svc.handler") == ("svc.handler", delay * 1000)


def test_delay_is_clamped_to_the_network_maximum() -> None:
    assert delay_routing_key(10**9, "q", 3) == "1.1.1.q"
    assert delay_routing_key(-5, "q", 3) == "0.0.0.q"


def test_queue_names_with_dots_do_not_collide(topo: Topology) -> None:
    other = topo + endpoint_topology(
        "handler", exchange="tradebus.commands", routing_keys=(), levels=LEVELS
    )
    key = delay_routing_key(3, "svc.handler", LEVELS)
    assert travel(other, key, "svc.handler")[0] == "svc.handler"
    assert route(other, DELIVER, key) == ["svc.handler"]


def test_work_queue_is_quorum_with_delivery_limit_and_parking_lot(topo: Topology) -> None:
    work = next(q for q in topo.queues if q.name == "svc.handler")
    assert work.arguments["x-queue-type"] == "quorum"
    assert work.arguments["x-delivery-limit"] == 20
    assert work.arguments["x-dead-letter-exchange"] == DLX
    assert work.arguments["x-dead-letter-routing-key"] == "svc.handler"
    assert work.arguments["x-dead-letter-strategy"] == "at-least-once"
    assert route(topo, DLX, "svc.handler") == [parking_queue("svc.handler")]
    assert route(topo, "tradebus.commands", "a.b.c.v1") == ["svc.handler"]


def test_every_delay_queue_dead_letters_at_least_once(topo: Topology) -> None:
    delay_queues = [q for q in topo.queues if q.name.startswith("tradebus.delay.")]
    assert len(delay_queues) == LEVELS
    for q in delay_queues:
        assert q.arguments["x-dead-letter-strategy"] == "at-least-once"
        assert q.arguments["x-overflow"] == "reject-publish"


def test_adding_topologies_deduplicates() -> None:
    t = base_topology(3)
    assert (t + t) == t
