from tradebus_messaging.topology import base_topology, endpoint_topology
from tradebus_messaging.verify import LiveState, compare


def live_from(topo) -> LiveState:
    return LiveState(
        exchanges={e.name: {"type": e.type, "durable": e.durable} for e in topo.exchanges},
        queues={
            q.name: {"durable": q.durable, "arguments": dict(q.arguments)} for q in topo.queues
        },
        bindings={
            (b.source, b.destination, b.destination_type, b.routing_key) for b in topo.bindings
        },
    )


def expected():
    return base_topology(4) + endpoint_topology(
        "svc.h", exchange="tradebus.commands", routing_keys=("a.b.c.v1",), levels=4
    )


def test_no_drift_when_live_matches() -> None:
    assert compare(expected(), live_from(expected())) == []


def test_reports_missing_changed_and_extra() -> None:
    live = live_from(expected())
    del live.exchanges["tradebus.events"]
    live.queues["svc.h"]["arguments"]["x-delivery-limit"] = 3
    live.queues["svc.h"]["arguments"]["x-max-length"] = 10
    live.bindings.discard(("tradebus.commands", "svc.h", "queue", "a.b.c.v1"))
    problems = {str(d) for d in compare(expected(), live)}
    assert "exchange tradebus.events: missing" in problems
    assert "queue svc.h: argument x-delivery-limit=3, expected 20" in problems
    assert "queue svc.h: unexpected argument x-max-length=10" in problems
    assert "binding tradebus.commands -> svc.h: missing routing key 'a.b.c.v1'" in problems


def test_reports_stray_bindings_inside_the_delay_network() -> None:
    live = live_from(expected())
    live.bindings.add(("tradebus.delay.01", "tradebus.delay.00", "exchange", "0.#"))
    live.bindings.add(("tradebus.events", "someone.elses.queue", "queue", "#"))  # allowed
    assert [str(d) for d in compare(expected(), live)] == [
        "binding tradebus.delay.01 -> tradebus.delay.00: unexpected routing key '0.#'"
    ]


def test_other_endpoints_deliver_bindings_are_drift_only_when_malformed() -> None:
    live = live_from(expected())
    other = "other.svc.q"
    live.bindings.add(("tradebus.retry.deliver", other, "queue", "*." * 4 + other))
    live.bindings.add(("tradebus.retry.deliver", "stale.q", "queue", "*." * 3 + "stale.q"))
    assert [str(d) for d in compare(expected(), live)] == [
        "binding tradebus.retry.deliver -> stale.q: unexpected routing key '*.*.*.stale.q'"
    ]
