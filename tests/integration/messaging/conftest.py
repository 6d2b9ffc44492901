"""Fixtures for messaging tests against the real RabbitMQ.

Each test gets a vhost of its own. Commands route by message type, so in a shared
vhost every test queue bound to `test.work.do.v1` also receives the messages of any
other test publishing that type at the same time (a second run on the broker, a
parallel CI job), and extra deliveries break what a test counts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import aio_pika
import httpx
import pytest

from tests.support.contracts import make_registry
from tests.support.infra import MANAGEMENT_URL
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.queue_stats import vhost_of


@pytest.fixture
def rabbitmq_url(vhost: str) -> str:
    """An AMQP URL to this test's own vhost (the `vhost` fixture: made and dropped)."""
    return vhost


@pytest.fixture
async def amqp(rabbitmq_url: str) -> AsyncIterator[aio_pika.abc.AbstractConnection]:
    connection = await aio_pika.connect(rabbitmq_url)
    yield connection
    await connection.close()


@pytest.fixture
async def management() -> AsyncIterator[httpx.AsyncClient]:
    url = httpx.URL(MANAGEMENT_URL)
    async with httpx.AsyncClient(
        base_url=str(url.copy_with(username=None, password=None)),
        auth=(url.username or "guest", url.password or "guest"),
        timeout=10,
    ) as client:
        yield client


@pytest.fixture
async def make_bus(
    rabbitmq_url: str, unique: str, amqp: aio_pika.abc.AbstractConnection
) -> AsyncIterator[Callable[..., Bus]]:
    """Build buses with fast retries; stops them and deletes their queues afterwards."""
    buses: list[Bus] = []

    def factory(**overrides: Any) -> Bus:
        inbox = overrides.pop("inbox", None)
        values: dict[str, Any] = {
            "url": rabbitmq_url,
            "service": f"test-{unique}-{len(buses)}",
            "retry_base_seconds": 1,
            "max_attempts": 3,
            "shutdown_grace_seconds": 2,
            "connect_timeout_seconds": 5,
        }
        settings = BusSettings(**(values | overrides))
        bus = Bus(settings, registry=make_registry(), inbox=inbox)
        buses.append(bus)
        return bus

    yield factory
    for bus in buses:
        await bus.stop()
    channel = await amqp.channel()
    for bus in buses:
        for queue in bus.topology().queues:
            if not queue.name.startswith("tradebus.delay."):
                with contextlib.suppress(Exception):
                    await channel.queue_delete(queue.name)
    await channel.close()


async def eventually(
    predicate: Callable[[], Any], timeout: float = 10.0, every: float = 0.05
) -> None:
    """Wait until predicate() is truthy (awaiting it if needed), or fail."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(every)


async def queue_counts(management: httpx.AsyncClient, amqp_url: str, queue: str) -> tuple[int, int]:
    """(ready, unacked) as the broker reports them (management stats lag ~1-5 s)."""
    vhost = quote(vhost_of(amqp_url), safe="")
    response = await management.get(f"/api/queues/{vhost}/{quote(queue, safe='')}")
    response.raise_for_status()
    body = response.json()
    return int(body.get("messages_ready", 0)), int(body.get("messages_unacknowledged", 0))
