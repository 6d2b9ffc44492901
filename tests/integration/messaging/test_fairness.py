"""Fair endpoints on the real broker: a tenant's flood does not starve another tenant's
trickle, and every guarantee of the runtime holds per shard (retry to the same shard,
parking and replay, consumer supervision, topology verify). Each test has a vhost of
its own: other tests publishing the same types cannot reach these queues."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import unquote

import aio_pika
import pytest

from tests.support.contracts import DoWork, make_registry
from tests.support.infra import MANAGEMENT_URL
from tradebus_contracts import Envelope
from tradebus_messaging import Bus, BusSettings, MessageContext, PermanentError
from tradebus_messaging.fairness import LanePicker, lane_queue, shard_queue
from tradebus_messaging.parking import ParkingLot
from tradebus_messaging.topology import base_topology
from tradebus_messaging.verify import compare, discovered_endpoints, fetch_live

from .conftest import eventually

pytestmark = pytest.mark.integration

SHARDS = 8
FLOOD, TRICKLE = 300, 5


@pytest.fixture
async def buses(vhost: str, unique: str) -> AsyncIterator[Callable[..., Bus]]:
    made: list[Bus] = []

    def factory(**overrides: Any) -> Bus:
        values: dict[str, Any] = {
            "url": vhost,
            "service": f"fair-{unique}-{len(made)}",
            "retry_base_seconds": 1,
            "retry_cap_seconds": 1,
            "max_attempts": 3,
            "shutdown_grace_seconds": 2,
            "connect_timeout_seconds": 5,
            "fair_shards": SHARDS,
        }
        bus = Bus(BusSettings(**(values | overrides)), registry=make_registry())
        made.append(bus)
        return bus

    yield factory
    for bus in made:
        await bus.stop()


def apart(picker: LanePicker, tenant: str) -> str:
    """A tenant whose shard is not `tenant`'s (hashing is stable: found, not hoped for)."""
    home = picker.home(tenant)
    return next(t for t in (f"tenant-b{i}" for i in range(100)) if picker.home(t) != home)


class Recorder:
    """Records which tenant's message started when, and from which lane."""

    def __init__(self, sleep: float = 0.0) -> None:
        self.sleep = sleep
        self.started: list[tuple[str, str]] = []  # (tenant, key)
        self.lanes: list[tuple[str, int, str]] = []  # (key, attempt, lane)
        self.fail: set[str] = set()

    async def __call__(self, msg: DoWork, ctx: MessageContext) -> None:
        self.started.append((ctx.tenant_id or "", msg.key))
        self.lanes.append((msg.key, ctx.attempt, ctx.lane))
        if self.sleep:
            await asyncio.sleep(self.sleep)
        if msg.key in self.fail:
            raise PermanentError("refused until the test allows it")
        if ctx.attempt <= msg.fail_times:
            raise RuntimeError("transient")

    def count(self, tenant: str) -> int:
        return sum(1 for t, _ in self.started if t == tenant)


async def flood_then_trickle(bus: Bus, queue: str, *, fair: bool) -> tuple[int, int]:
    """A floods, B trickles in once A's flood is being consumed. Returns how many of
    A's messages had started when B's first and when B's last started."""
    picker = LanePicker(SHARDS)
    a = "tenant-a"
    b = apart(picker, a)
    handler = Recorder(sleep=0.02)
    bus.subscribe(
        queue=queue,
        message_types=[DoWork.message_type],
        handler=handler,
        prefetch=8,
        concurrency=2,
        fair=fair,
    )
    await bus.start()
    await asyncio.gather(*(bus.publish(DoWork(key=f"a{i}"), tenant_id=a) for i in range(FLOOD)))
    await eventually(lambda: handler.count(a) >= 10, timeout=60)
    for i in range(TRICKLE):
        await bus.publish(DoWork(key=f"b{i}"), tenant_id=b)
    await eventually(lambda: handler.count(b) == TRICKLE, timeout=120)
    order = [t for t, _ in handler.started]
    first_b, last_b = order.index(b), len(order) - 1 - order[::-1].index(b)
    counts = order[:first_b].count(a), order[:last_b].count(a)
    print(f"fair={fair}: A started before B first/last: {counts}")
    return counts


async def test_a_flood_does_not_starve_a_trickle_on_a_fair_endpoint(buses, unique) -> None:
    a_before_first, a_before_last = await flood_then_trickle(buses(), f"t-{unique}.fair", fair=True)
    # B waits behind at most what is in flight (8 shards + bulk + legacy lane, 1 each)
    # plus A's turn between each of its own: far from A's 300.
    bound = (SHARDS + 2) * 1 + 2 * TRICKLE + 10
    assert a_before_last <= a_before_first + bound, (a_before_first, a_before_last)
    assert a_before_last < FLOOD // 2


async def test_the_same_flood_on_a_plain_queue_serves_the_trickle_after_it(buses, unique) -> None:
    a_before_first, _ = await flood_then_trickle(buses(), f"t-{unique}.fifo", fair=False)
    assert a_before_first == FLOOD  # FIFO: every A message started before any of B's


async def test_a_retried_message_comes_back_to_its_own_shard(buses, unique) -> None:
    bus = buses()
    handler = Recorder()
    queue = f"t-{unique}.work"
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler, fair=True)
    await bus.start()
    await bus.publish(DoWork(key="flaky", fail_times=1), tenant_id="tenant-r")
    await eventually(lambda: len(handler.lanes) == 2, timeout=20)
    expected = shard_queue(queue, LanePicker(SHARDS).home("tenant-r"))
    assert handler.lanes == [("flaky", 1, expected), ("flaky", 2, expected)]


async def test_a_parked_shard_message_is_replayed_into_its_shard(buses, unique) -> None:
    bus = buses()
    handler = Recorder()
    handler.fail.add("bad")
    queue = f"t-{unique}.work"
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler, fair=True)
    await bus.start()
    await bus.publish(DoWork(key="bad"), tenant_id="tenant-p", priority="bulk")
    connection = await aio_pika.connect(bus.settings.url)
    try:
        lot = ParkingLot(connection, levels=bus.settings.delay_levels)
        await eventually(lambda: _parked(lot, queue, 1), timeout=15)
        handler.fail.clear()
        assert await lot.replay(queue) == 1
        await eventually(lambda: len(handler.lanes) == 2, timeout=15)
    finally:
        await connection.close()
    bulk = lane_queue(queue, "bulk")
    assert handler.lanes == [("bad", 1, bulk), ("bad", 1, bulk)]


async def test_a_deleted_shard_under_the_consumer_comes_back(buses, unique) -> None:
    bus = buses()
    handler = Recorder()
    queue = f"t-{unique}.work"
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler, fair=True)
    await bus.start()
    shard = shard_queue(queue, LanePicker(SHARDS).home("tenant-d"))
    connection = await aio_pika.connect(bus.settings.url)
    try:
        consumer = bus._consumers[0]
        settler = consumer._settler
        channel = await connection.channel()
        await channel.queue_delete(shard)  # the broker cancels that one consumer
        # Back on a new channel (not a poll for the moment it was missing, which
        # may be over before delete-ok arrives).
        await eventually(lambda: consumer._settler is not settler and consumer.alive, timeout=15)
        assert bus.readiness()[f"consumer:{queue}"]
    finally:
        await connection.close()
    await bus.publish(DoWork(key="after-delete"), tenant_id="tenant-d")
    await eventually(lambda: handler.lanes == [("after-delete", 1, shard)], timeout=10)


async def test_a_channel_closed_under_a_sharded_consumer_comes_back(buses, unique) -> None:
    bus = buses()
    handler = Recorder()
    queue = f"t-{unique}.work"
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler, fair=True)
    await bus.start()
    await bus.publish(DoWork(key="one"), tenant_id="tenant-c")
    await eventually(lambda: len(handler.started) == 1, timeout=5)
    consumer = bus._consumers[0]
    settler = consumer._settler
    assert settler is not None
    await settler.channel.basic_ack(999_999)  # PRECONDITION_FAILED closes the channel
    await eventually(lambda: consumer._settler is not settler and consumer.alive, timeout=15)
    for i in range(SHARDS * 2):  # every shard is consumed again
        await bus.publish(DoWork(key=f"k{i}"), tenant_id=f"tenant-{i}")
    # "one" may come twice: its ack may not have left before the channel closed.
    keys = {f"k{i}" for i in range(SHARDS * 2)}
    await eventually(lambda: keys <= {k for _, k in handler.started}, timeout=15)
    assert {k for _, k in handler.started} == keys | {"one"}


async def test_an_endpoint_that_becomes_fair_keeps_its_backlog_and_no_duplicates(
    buses, unique
) -> None:
    queue = f"t-{unique}.work"
    before = buses()
    before.subscribe(queue=queue, message_types=[DoWork.message_type], handler=Recorder())
    await before.start()
    await before.stop()  # its queue stays, bound by type, with no consumer
    publisher = buses()
    await publisher.start()
    await publisher.publish(DoWork(key="queued-before"), tenant_id="tenant-m")
    after = buses()
    handler = Recorder()
    after.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler, fair=True)
    await after.start()
    await after.publish(DoWork(key="published-after"), tenant_id="tenant-m")
    await eventually(lambda: len(handler.started) >= 2, timeout=10)
    await asyncio.sleep(0.5)  # a duplicate, if the old binding survived, would show up now
    assert sorted(k for _, k in handler.started) == ["published-after", "queued-before"]


async def test_a_message_no_lane_matches_is_still_consumed(buses, unique) -> None:
    """A publisher configured with more shards, or one that sets no lane header at all
    (another client), reaches the endpoint's own queue instead of being refused."""
    queue = f"t-{unique}.work"
    bus = buses()
    handler = Recorder()
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler, fair=True)
    await bus.start()
    wider = buses(fair_shards=64)
    await wider.start()
    tenant = next(t for t in (f"w{i}" for i in range(500)) if LanePicker(64).home(t) >= SHARDS)
    await wider.publish(DoWork(key="lane-too-high"), tenant_id=tenant)
    connection = await aio_pika.connect(bus.settings.url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("tradebus.commands")
        headers = Envelope(type=DoWork.message_type, source="other-client").to_headers()
        body = DoWork(key="no-lane").model_dump_json().encode()
        await exchange.publish(
            aio_pika.Message(body, headers=headers, content_type="application/json"),
            routing_key=DoWork.message_type,
            mandatory=True,
        )
    finally:
        await connection.close()
    await eventually(lambda: len(handler.lanes) == 2, timeout=10)
    assert sorted(handler.lanes) == [("lane-too-high", 1, queue), ("no-lane", 1, queue)]


async def test_topology_verify_sees_every_shard_and_no_drift(buses, unique) -> None:
    bus = buses()
    queue = f"t-{unique}.work"
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=Recorder(), fair=True)
    await bus.start()
    live = await fetch_live(MANAGEMENT_URL, vhost=unquote(bus.settings.url.rsplit("/", 1)[1]))
    assert compare(bus.topology(), live) == []
    discovered = discovered_endpoints(live, bus.settings)
    assert {shard_queue(queue, i) for i in range(SHARDS)} <= {q.name for q in discovered.queues}
    # what `tradebus-bus topology verify` checks: the shared base plus every endpoint found
    assert compare(base_topology(bus.settings.delay_levels) + discovered, live) == []


async def _parked(lot: ParkingLot, queue: str, n: int) -> bool:
    return await lot.count(queue) == n
