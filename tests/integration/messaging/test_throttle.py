"""A consumption rate limit that holds across replicas: two buses (two replicas) consume
one queue whose rate is shared through the real Redis."""

from __future__ import annotations

import time

import pytest

from tests.support.contracts import DoWork
from tests.support.infra import require_redis
from tradebus_messaging import MessageContext

from .conftest import eventually

pytestmark = pytest.mark.integration

RATE, PERIOD = 4, 2.0  # at most 4 messages per 2 seconds, all replicas together
MESSAGES = 10


async def test_a_rate_limit_holds_across_two_replicas(make_bus, unique) -> None:
    redis_url = require_redis()
    handled: list[tuple[float, str]] = []

    def handler_for(replica: str):
        async def handle(msg: DoWork, ctx: MessageContext) -> None:
            handled.append((time.monotonic(), replica))

        return handle

    queue = f"t-{unique}.throttled"
    buses = [
        make_bus(redis_url=redis_url, limits_prefix=f"it-{unique}", prefetch=4, concurrency=4)
        for _ in range(2)
    ]
    for n, bus in enumerate(buses):
        bus.subscribe(
            queue=queue,
            message_types=[DoWork.message_type],
            handler=handler_for(f"r{n}"),
            rate_limit=f"{RATE}/{int(PERIOD)} seconds",
        )
        await bus.start()
    for i in range(MESSAGES):
        await buses[0].publish(DoWork(key=str(i)), tenant_id="t1")
    await eventually(lambda: len(handled) == MESSAGES, timeout=30)

    times = sorted(t for t, _ in handled)
    # the moving window: no RATE + 1 handled within one period, by both replicas together
    for first, last in zip(times, times[RATE:], strict=False):
        assert last - first >= PERIOD * 0.95, times
    assert {replica for _, replica in handled} == {"r0", "r1"}  # both did share the work


async def test_the_setting_overrides_the_subscription_and_no_limit_is_free(
    make_bus, unique
) -> None:
    handled: list[float] = []

    async def handle(msg: DoWork, ctx: MessageContext) -> None:
        handled.append(time.monotonic())

    queue = f"t-{unique}.free"
    bus = make_bus(consume_rates={queue: "1000/second"})
    bus.subscribe(
        queue=queue, message_types=[DoWork.message_type], handler=handle, rate_limit="1/minute"
    )
    await bus.start()
    for i in range(5):
        await bus.publish(DoWork(key=str(i)), tenant_id="t1")
    await eventually(lambda: len(handled) == 5, timeout=10)  # 1/minute would take 4 minutes
