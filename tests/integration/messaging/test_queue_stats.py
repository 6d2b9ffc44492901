"""Queue stats from the real broker's management API: depth, consumers and the oldest
message's age, for a quorum queue (age estimated) and a classic one (head timestamp)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika

from tests.support.infra import MANAGEMENT_URL
from tradebus_messaging.queue_stats import ManagementQueues, QueueStats, QueueStatsSampler, vhost_of


async def wait_for(
    sampler: QueueStatsSampler, check: Any, timeout: float = 30
) -> dict[str, QueueStats]:
    """The broker emits queue figures every few seconds: sample until they show."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        latest = await sampler.sample()
        if check(latest):
            return latest
        assert asyncio.get_running_loop().time() < deadline, f"never saw it: {latest}"
        await asyncio.sleep(0.5)


async def test_depth_consumers_and_age_from_the_management_api(vhost: str) -> None:
    connection = await aio_pika.connect(vhost)
    try:
        channel = await connection.channel()
        quorum = await channel.declare_queue(
            "qs.work", durable=True, arguments={"x-queue-type": "quorum"}
        )
        classic = await channel.declare_queue(
            "qs.rpc", durable=True, arguments={"x-queue-type": "classic"}
        )
        await channel.declare_queue(
            "qs.refresh.pod-1", arguments={"x-queue-type": "classic", "x-expires": 600_000}
        )
        old = datetime.now(UTC) - timedelta(seconds=120)
        for queue, n in ((quorum, 3), (classic, 2)):
            for i in range(n):
                await channel.default_exchange.publish(
                    aio_pika.Message(f"{i}".encode(), timestamp=old), routing_key=queue.name
                )
        consumer_channel = await connection.channel()
        listener = await consumer_channel.declare_queue("qs.listened", durable=True)

        async def ack(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await message.ack()

        await listener.consume(ack)

        sampler = QueueStatsSampler(ManagementQueues(MANAGEMENT_URL, vhost_of(vhost)), interval=1)
        latest = await wait_for(
            sampler,
            lambda s: (
                s.get("qs.work") is not None
                and s["qs.work"].ready == 3
                and s.get("qs.rpc") is not None
                and s["qs.rpc"].ready == 2
                and s.get("qs.listened") is not None
                and s["qs.listened"].consumers == 1
            ),
        )
        assert "qs.refresh.pod-1" not in latest  # a replica's own queue is not sampled
        assert latest["qs.rpc"].oldest_age_seconds >= 119  # the broker's head timestamp
        assert latest["qs.work"].consumers == 0
        # Quorum: no head timestamp; the estimate starts at this sampler's first sight
        # of the backlog and grows while nothing is delivered.
        first = latest["qs.work"].oldest_age_seconds
        await asyncio.sleep(1.1)
        later = await sampler.sample()
        assert later["qs.work"].oldest_age_seconds >= first + 1
    finally:
        await connection.close()
