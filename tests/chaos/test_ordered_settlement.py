"""Acks and nacks reach the broker in the order they were decided, even while a
memory alarm holds every frame of the connection.

The alarm blocks the connection (it publishes), so the client's frame queue fills
while some handlers fail (their retry publish times out: requeue) and others
succeed (ack). Out-of-order settlement would ack a requeued tag by a multiple-ack,
or settle a tag twice, and the broker would close the channel (406)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter

import pytest

from tests.integration.messaging.conftest import eventually
from tests.support.contracts import DoWork
from tradebus_messaging import MessageContext

pytestmark = pytest.mark.chaos

N = 300


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


def _alarm_cleared() -> bool:
    out = subprocess.run(
        ["rabbitmqctl", "eval", "rabbit_alarm:get_alarms()."],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return "memory" not in out.stdout


async def test_settlement_order_survives_a_blocked_connection(
    make_bus, unique, amqp, figures
) -> None:
    bus = make_bus(prefetch=64, concurrency=64, publish_timeout_seconds=1.5, max_attempts=10)
    queue = f"t-{unique}.work"
    done: Counter[str] = Counter()
    failed_once: set[str] = set()

    async def handler(msg: DoWork, ctx: MessageContext) -> None:
        await asyncio.sleep(0.002 * (hash(msg.key) % 7))  # finish out of order
        index = int(msg.key)
        if index % 3 == 0 and msg.key not in failed_once:
            failed_once.add(msg.key)
            raise RuntimeError("transient: fail the first time")
        done[msg.key] += 1

    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handler)
    await bus.start()
    consumer = bus._consumers[0]
    settler = consumer._settler
    for i in range(N // 2):
        await bus.publish(DoWork(key=str(i)))
    try:
        _rabbitmqctl("set_vm_memory_high_watermark", "absolute", "1")
        # The rest goes from another connection (also blocked: sent once the alarm clears).
        publishing = asyncio.create_task(_publish_rest(bus))
        await asyncio.sleep(4)
    finally:
        _rabbitmqctl("set_vm_memory_high_watermark", "0.4")
        deadline = time.monotonic() + 60
        while not _alarm_cleared() and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
    await publishing
    started = time.monotonic()
    await eventually(lambda: len(done) == N, timeout=90)
    recovery = time.monotonic() - started
    # Every message handled to success; none acked away while meant to be retried.
    assert sorted(done, key=int) == [str(i) for i in range(N)]
    # The consumer kept its channel: no settlement frame was refused.
    assert consumer._settler is settler and consumer.alive
    channel = await amqp.channel()
    declared = await channel.declare_queue(queue, passive=True)
    assert declared.declaration_result.message_count == 0
    await channel.close()
    duplicates = sum(n - 1 for n in done.values())
    figures(
        f"ordered settlement: {N} messages, {len(failed_once)} failed once, "
        f"{duplicates} redelivered after success, recovery {recovery:.1f}s after the alarm"
    )


async def _publish_rest(bus) -> None:
    for i in range(N // 2, N):
        for _ in range(30):
            try:
                await bus.publish(DoWork(key=str(i)))
                break
            except Exception:
                await asyncio.sleep(1)
