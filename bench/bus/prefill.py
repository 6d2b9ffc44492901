"""Fill a queue with N persistent messages in each library's own format, with
publisher confirms. Not timed: only the drain is measured."""

from __future__ import annotations

import asyncio

import aio_pika

from bench.bus.common import URL, BenchPing
from tradebus_contracts import Envelope
from tradebus_messaging.declare import declare
from tradebus_messaging.topology import base_topology, endpoint_topology

DELAY_LEVELS = 18


async def declare_plain(queue: str) -> None:
    connection = await aio_pika.connect(URL)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": "classic"})


async def declare_tradebus(queue: str, queue_type: str) -> None:
    connection = await aio_pika.connect(URL)
    async with connection:
        topo = base_topology(DELAY_LEVELS) + endpoint_topology(
            queue,
            exchange="tradebus.commands",
            routing_keys=(BenchPing.message_type,),
            levels=DELAY_LEVELS,
            queue_type=queue_type,
        )  # type: ignore[arg-type]
        await declare(await connection.channel(), topo)


async def publish_raw(queue: str, bodies: list[tuple[bytes, dict]]) -> None:
    connection = await aio_pika.connect(URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for start in range(0, len(bodies), 1000):
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(
                        aio_pika.Message(
                            body,
                            headers=headers,
                            content_type="application/json",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        ),
                        routing_key=queue,
                    )
                    for body, headers in bodies[start : start + 1000]
                )
            )


def plain_bodies(n: int) -> list[tuple[bytes, dict]]:
    return [(b'{"n": %d}' % i, {}) for i in range(n)]


def tradebus_bodies(n: int) -> list[tuple[bytes, dict]]:
    out = []
    for i in range(n):
        envelope = Envelope(type=BenchPing.message_type, source="bench", tenant_id="bench")
        out.append((BenchPing(n=i).model_dump_json().encode(), envelope.to_headers()))
    return out


def prefill_celery(queue: str, n: int) -> None:
    from bench.bus.celery_app import make_app

    app = make_app(queue)
    ping = app.tasks["bench.ping"]
    with app.producer_or_acquire() as producer:
        for i in range(n):
            ping.apply_async((i,), queue=queue, producer=producer)


def prefill_dramatiq(queue: str, n: int) -> None:
    import dramatiq
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    broker = RabbitmqBroker(url=URL, confirm_delivery=True)
    dramatiq.set_broker(broker)

    @dramatiq.actor(queue_name=queue, max_retries=0)
    def ping(n: int) -> None: ...

    for i in range(n):
        ping.send(i)
    broker.close()


async def prefill(lib: str, variant: str, queue: str, n: int) -> None:
    if lib == "tradebus":
        await declare_tradebus(queue, "quorum" if variant == "quorum" else "classic")
        await publish_raw(queue, tradebus_bodies(n))
    elif lib in {"aiopika", "pika", "faststream"}:
        await declare_plain(queue)
        await publish_raw(queue, plain_bodies(n))
    elif lib == "celery":
        await asyncio.to_thread(prefill_celery, queue, n)
    elif lib == "dramatiq":
        await asyncio.to_thread(prefill_dramatiq, queue, n)
    else:
        raise ValueError(lib)
