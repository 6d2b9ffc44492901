"""Fair endpoints, pure parts: naming, lane choice, weights, priorities, budgets, topology."""

from __future__ import annotations

from collections import Counter

import pytest

from tradebus_contracts import Envelope
from tradebus_messaging import BusSettings
from tradebus_messaging.endpoint import Endpoint
from tradebus_messaging.envelopes import envelope_for
from tradebus_messaging.fair_topology import fair_endpoint_topology
from tradebus_messaging.fairness import (
    BULK_LANE,
    H_LANE,
    LanePicker,
    fair_exchange,
    lane_prefetch,
    lane_queue,
    lane_queues,
    parse_priority,
    parse_weights,
    shard_queue,
    stable_hash,
)
from tradebus_messaging.queue_groups import by_endpoint, endpoint_of
from tradebus_messaging.queue_stats import QueueStats
from tradebus_messaging.topology import DELIVER, DLX, deliver_routing_key


def test_shard_and_lane_names() -> None:
    assert shard_queue("omnirag-embed.embed", 3) == "omnirag-embed.embed.s03"
    assert lane_queue("q", "07") == "q.s07"
    assert lane_queue("q", BULK_LANE) == "q.bulk"
    assert fair_exchange("q") == "q.fair"
    assert lane_queues("q", 2) == ("q.s00", "q.s01", "q.bulk")


@pytest.mark.parametrize(
    ("prefetch", "shards", "share"), [(8, 8, 1), (16, 8, 2), (9, 8, 2), (1, 8, 1), (32, 4, 8)]
)
def test_each_lane_gets_its_share_of_the_prefetch_rounded_up(
    prefetch: int, shards: int, share: int
) -> None:
    assert lane_prefetch(prefetch, shards) == share


def test_the_stable_hash_does_not_depend_on_the_process() -> None:
    # CRC-32 of the text: the same in every process and release, unlike hash()
    assert stable_hash("tenant-a") == 2424592395
    assert LanePicker(8).home("tenant-a") == 3


def test_a_tenant_of_weight_one_stays_on_its_home_shard() -> None:
    picker = LanePicker(8)
    home = picker.home("t1")
    assert {picker.lane("t1") for _ in range(20)} == {f"{home:02d}"}


def test_a_weight_spreads_the_tenant_over_that_many_distinct_shards_in_turn() -> None:
    picker = LanePicker(8, {"big": 3})
    lanes = [picker.lane("big") for _ in range(30)]
    assert len(set(lanes)) == 3
    assert set(Counter(lanes).values()) == {10}  # rotated evenly
    home = picker.home("big")
    assert picker.shards_of("big") == [home, (home + 1) % 8, (home + 2) % 8]


def test_high_priority_multiplies_the_weight_and_is_capped_at_the_shard_count() -> None:
    picker = LanePicker(8, {"big": 3})
    assert picker.weight("small", "high") == 4
    assert picker.weight("big", "high") == 8  # 12, capped
    assert picker.weight("small", "normal") == 1
    assert len({picker.lane("small", "high") for _ in range(8)}) == 4


def test_bulk_work_of_every_tenant_shares_the_bulk_lane() -> None:
    picker = LanePicker(8, {"big": 3})
    assert {picker.lane(t, "bulk") for t in ("a", "b", "big")} == {BULK_LANE}


def test_a_message_without_a_tenant_still_gets_a_lane() -> None:
    assert LanePicker(8).lane(None) == f"{LanePicker(8).home(''):02d}"


def test_priority_parsing_defaults_to_normal() -> None:
    assert parse_priority("high") == "high"
    assert parse_priority(b"bulk") == "bulk"
    assert parse_priority(None) == "normal"
    assert parse_priority("urgent") == "normal"


def test_weights_are_read_from_the_settings_notation() -> None:
    assert parse_weights("tenant-a=3, tenant-b=1") == {"tenant-a": 3, "tenant-b": 1}
    assert parse_weights("") == {}
    with pytest.raises(ValueError):
        parse_weights("tenant-a")
    with pytest.raises(ValueError):
        parse_weights("tenant-a=0")


def test_bus_settings_take_weights_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("TRADEBUS_BUS_FAIR_WEIGHTS", "tenant-a=3,tenant-b=1")
    monkeypatch.setenv("TRADEBUS_BUS_FAIR_SHARDS", "4")
    settings = BusSettings()
    assert settings.fair_weights == {"tenant-a": 3, "tenant-b": 1}
    assert settings.fair_shards == 4
    assert BusSettings(fair_weights={"x": 2}).fair_weights == {"x": 2}


def test_priority_travels_in_the_envelope_and_is_inherited() -> None:
    ingest = envelope_for("omnirag.document.ingest.v1", "tradebus/gateway", priority="high")
    headers = ingest.to_headers()
    assert headers["cloudEvents:priority"] == "high"
    received = Envelope.from_headers(headers)
    embed = envelope_for("omnirag.chunks.embed.v1", "tradebus/ingest", causation=received)
    assert embed.priority == "high"
    assert envelope_for("x.y.z.v1", "s").priority is None


def _endpoint(shards: int, prefetch: int = 8) -> Endpoint:
    async def handler(msg: object, ctx: object) -> None:
        return None

    return Endpoint(
        queue="svc.work",
        exchange="tradebus.commands",
        models={},
        handler=handler,
        prefetch=prefetch,
        concurrency=2,
        time_limit_seconds=60,
        fair_shards=shards,
    )


def test_a_fair_endpoint_consumes_its_queue_and_every_lane_with_a_share_each() -> None:
    fair = _endpoint(4, prefetch=8)
    assert fair.consumed_queues == ("svc.work", "svc.work.s00", "svc.work.s01", "svc.work.s02",
                                    "svc.work.s03", "svc.work.bulk")  # fmt: skip
    assert fair.consumer_prefetch == 2
    assert fair.max_in_flight == 12
    plain = _endpoint(0, prefetch=8)
    assert plain.consumed_queues == ("svc.work",)
    assert plain.consumer_prefetch == plain.max_in_flight == 8


def test_fair_topology_routes_types_to_the_lanes_and_parks_in_one_lot() -> None:
    topo = fair_endpoint_topology(
        "svc.work", exchange="tradebus.commands", routing_keys=("a.b.c.v1",), levels=3, shards=2
    )
    assert [(e.name, e.type, e.arguments) for e in topo.exchanges] == [
        ("svc.work.fair", "headers", (("alternate-exchange", "svc.work.fair.rest"),)),
        ("svc.work.fair.rest", "fanout", ()),  # what no lane matches: into svc.work
    ]
    names = [q.name for q in topo.queues]
    assert names == ["svc.work", "svc.work.s00", "svc.work.s01", "svc.work.bulk", "svc.work.dlq"]
    for q in topo.queues[:-1]:
        assert q.arguments["x-queue-type"] == "quorum"
        assert q.arguments["x-dead-letter-exchange"] == DLX
        assert q.arguments["x-dead-letter-routing-key"] == "svc.work"  # the shared lot
    bindings = {(b.source, b.destination, b.routing_key, b.arguments) for b in topo.bindings}
    assert ("tradebus.commands", "svc.work.fair", "a.b.c.v1", ()) in bindings
    assert ("svc.work.fair", "svc.work.s01", "", (("x-match", "all"), (H_LANE, "01"))) in bindings
    assert ("svc.work.fair", "svc.work.bulk", "", (("x-match", "all"), (H_LANE, "bulk"))) in (
        bindings
    )
    for name in names[:-1]:  # retries and replays come back to the lane they left
        assert (DELIVER, name, deliver_routing_key(name, 3), ()) in bindings
    assert (DLX, "svc.work.dlq", "svc.work", ()) in bindings
    assert ("svc.work.fair.rest", "svc.work", "", ()) in bindings
    # the endpoint's own queue is no longer fed by type: no message arrives twice
    assert not any(b.source == "tradebus.commands" and b.destination == "svc.work"
                   for b in topo.bindings)  # fmt: skip


def test_queue_stats_sum_a_fair_endpoints_lanes_into_it() -> None:
    def row(name: str, ready: int, age: float) -> QueueStats:
        return QueueStats(name, ready, unacked=1, consumers=1, oldest_age_seconds=age)

    stats = [
        row("svc.work", 1, 2.0),
        row("svc.work.s00", 10, 30.0),
        row("svc.work.bulk", 5, 90.0),
        row("svc.work.dlq", 3, 0.0),
        row("other.s01", 4, 1.0),  # no endpoint `other`: a queue of its own
    ]
    groups = by_endpoint(stats)
    assert set(groups) == {"svc.work", "svc.work.dlq", "other.s01"}
    work = groups["svc.work"]
    assert (work.ready, work.unacked, work.consumers) == (16, 3, 3)
    assert work.oldest_age_seconds == 90.0
    assert endpoint_of("svc.work.s07", {"svc.work"}) == "svc.work"


@pytest.mark.parametrize(
    "options", [{"queue_type": "classic"}, {"expires_seconds": 60}, {"parking": "svc.work"}]
)
def test_a_fair_endpoint_is_a_shared_quorum_queue(options: dict[str, object]) -> None:
    from tests.support.contracts import DoWork, make_registry
    from tradebus_messaging import Bus

    async def handler(msg: object, ctx: object) -> None:
        return None

    bus = Bus(BusSettings(), registry=make_registry())
    with pytest.raises(ValueError, match="fair"):
        bus.subscribe(
            queue="svc.work.r1",
            message_types=[DoWork.message_type],
            handler=handler,
            fair=True,
            **options,  # type: ignore[arg-type]
        )


async def test_the_sampler_exports_each_endpoints_depth_with_its_lanes_summed() -> None:
    from prometheus_client import REGISTRY

    from tradebus_messaging.queue_stats import QueueStatsSampler

    def row(name: str, ready: int) -> dict[str, object]:
        return {"name": name, "arguments": {}, "messages_ready": ready, "consumers": 1}

    answers = [
        [row("ut.fair", 1), row("ut.fair.s03", 20), row("ut.fair.bulk", 4)],
        [row("ut.plain", 2)],
    ]

    async def fetch() -> list[dict[str, object]]:
        return answers.pop(0)

    def depth(endpoint: str) -> float | None:
        return REGISTRY.get_sample_value("tradebus_endpoint_ready_messages", {"endpoint": endpoint})

    sampler = QueueStatsSampler(fetch, interval=1, clock=lambda: 10.0)  # type: ignore[arg-type]
    await sampler.sample()
    assert depth("ut.fair") == 25 and sampler.endpoints["ut.fair"].ready == 25
    assert depth("ut.fair.s03") is None  # a lane is not an endpoint of its own
    await sampler.sample()
    assert depth("ut.fair") is None and depth("ut.plain") == 2
    sampler.clear()
    assert depth("ut.plain") is None and sampler.endpoints == {}
