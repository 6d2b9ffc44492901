"""Connection loss, backpressure bounds and graceful shutdown."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable

import pytest

from tests.support.contracts import DoWork
from tests.support.infra import MANAGEMENT_URL
from tradebus_messaging import MessageContext
from tradebus_messaging.queue_stats import vhost_of
from tradebus_messaging.topology import base_topology, endpoint_topology
from tradebus_messaging.verify import compare, fetch_live

from .conftest import eventually, queue_counts

pytestmark = pytest.mark.integration


async def test_consumer_resumes_after_the_broker_closes_its_connection(
    make_bus, unique, management
) -> None:
    seen: list[str] = []

    async def handler(msg: DoWork, ctx: MessageContext) -> None:
        seen.append(msg.key)

    bus = make_bus()
    bus.subscribe(queue=f"t-{unique}.work", message_types=[DoWork.message_type], handler=handler)
    await bus.start()
    await bus.publish(DoWork(key="before"))
    await eventually(lambda: seen == ["before"])

    name = f"{bus.settings.service}@{bus.settings.host}"

    async def our_connections() -> list[str]:
        response = await management.get("/api/connections")
        return [
            c["name"]
            for c in response.json()
            if c.get("client_properties", {}).get("connection_name") == name
        ]

    await eventually(our_connections, timeout=10, every=0.5)  # stats appear with a delay
    lost = bus._connector.connection
    assert lost is not None
    for conn in await our_connections():
        await management.delete(
            f"/api/connections/{conn}", headers={"X-Reason": "test: broker closes the connection"}
        )
    # A new connection, not a poll for the moment of "not ready": the bus may be
    # back before the management API's answer is read.
    await eventually(
        lambda: bus._connector.connection is not lost and all(bus.readiness().values()),
        timeout=10,
    )
    assert lost.is_closed
    await bus.publish(DoWork(key="after"))
    await eventually(lambda: seen == ["before", "after"], timeout=5)


async def test_prefetch_and_concurrency_bounds_hold(make_bus, unique, management) -> None:
    gate = asyncio.Event()
    running = 0
    peak = 0
    done = 0

    async def handler(msg: DoWork, ctx: MessageContext) -> None:
        nonlocal running, peak, done
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1
        done += 1

    queue = f"t-{unique}.work"
    bus = make_bus()
    bus.subscribe(
        queue=queue,
        message_types=[DoWork.message_type],
        handler=handler,
        prefetch=10,
        concurrency=3,
    )
    await bus.start()
    await asyncio.gather(*(bus.publish(DoWork(key=str(i))) for i in range(40)))
    await eventually(lambda: running == 3)

    async def broker_sees_window() -> bool:
        ready, unacked = await queue_counts(management, bus.settings.url, queue)
        return (ready, unacked) == (30, 10)

    await eventually(broker_sees_window, timeout=15, every=0.5)
    assert running == 3 and peak == 3
    # delivered and held, 3 of them running (the broker counts them once sent)
    await eventually(lambda: bus.in_flight()[queue] == 10)
    gate.set()
    await eventually(lambda: done == 40, timeout=10)
    assert peak == 3


async def test_stop_finishes_in_flight_work_and_acks_it(make_bus, unique, amqp) -> None:
    finished: list[str] = []

    async def handler(msg: DoWork, ctx: MessageContext) -> None:
        await asyncio.sleep(msg.sleep)
        finished.append(msg.key)

    queue = f"t-{unique}.work"
    bus = make_bus(shutdown_grace_seconds=3)
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler)
    await bus.start()
    await bus.publish(DoWork(key="short", sleep=0.5))
    await eventually(lambda: bus.in_flight()[queue] == 1)
    await bus.stop()
    assert finished == ["short"]
    channel = await amqp.channel()
    assert (await channel.declare_queue(queue, passive=True)).declaration_result.message_count == 0
    await channel.close()


async def test_stop_leaves_unfinished_work_for_redelivery(make_bus, unique, amqp) -> None:
    finished: list[str] = []

    async def handler(msg: DoWork, ctx: MessageContext) -> None:
        await asyncio.sleep(msg.sleep)
        finished.append(msg.key)

    queue = f"t-{unique}.work"
    bus = make_bus(shutdown_grace_seconds=0.3)
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler)
    await bus.start()
    await bus.publish(DoWork(key="long", sleep=30))
    await eventually(lambda: bus.in_flight()[queue] == 1)
    await bus.stop()
    assert finished == []
    channel = await amqp.channel()

    async def ready() -> int:
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)

    # Back in the queue, not lost. A quorum queue returns a closed channel's unacked
    # messages through its log, after the close: wait for it, do not race it.
    await eventually(lambda: _equals(ready(), 1))
    await channel.close()


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


DECLARE_SCRIPT = """
import asyncio, sys, aio_pika
from tradebus_messaging.declare import declare
from tradebus_messaging.topology import base_topology, endpoint_topology
async def main():
    conn = await aio_pika.connect(sys.argv[1])
    topo = base_topology(18) + endpoint_topology(
        sys.argv[2], exchange="tradebus.commands", routing_keys=("test.work.do.v1",), levels=18)
    await declare(await conn.channel(), topo)
    await conn.close()
asyncio.run(main())
"""


async def test_two_processes_declaring_at_once_converge(rabbitmq_url, unique, amqp) -> None:
    queue = f"t-{unique}.race"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            DECLARE_SCRIPT,
            rabbitmq_url,
            queue,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    results = await asyncio.gather(*(p.communicate() for p in procs))
    assert [p.returncode for p in procs] == [0, 0], [err.decode() for _, err in results]
    expected = base_topology(18) + endpoint_topology(
        queue, exchange="tradebus.commands", routing_keys=("test.work.do.v1",), levels=18
    )
    live = await fetch_live(MANAGEMENT_URL, vhost=vhost_of(rabbitmq_url))
    assert compare(expected, live) == []
    channel = await amqp.channel()
    for name in (queue, f"{queue}.dlq"):
        await channel.queue_delete(name)
    await channel.close()
