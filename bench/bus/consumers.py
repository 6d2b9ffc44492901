"""One consumer process per run: `python -m bench.bus.consumers LIB QUEUE N OUT [OPTION]`.

Every consumer: prefetch 100, a no-op handler, ack after the handler."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bench.bus.common import PREFETCH, URL, BenchPing, Meter


async def aiopika(queue: str, meter: Meter) -> None:
    import aio_pika

    connection = await aio_pika.connect(URL)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=PREFETCH)
    q = await channel.get_queue(queue)
    done = asyncio.Event()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await message.ack()
        if meter.tick():
            done.set()

    await q.consume(on_message)
    await done.wait()
    await connection.close()


def pika_sync(queue: str, meter: Meter) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(URL))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=PREFETCH)

    def on_message(ch, method, properties, body) -> None:  # type: ignore[no-untyped-def]
        ch.basic_ack(method.delivery_tag)
        if meter.tick():
            ch.stop_consuming()

    channel.basic_consume(queue, on_message)
    channel.start_consuming()
    connection.close()


async def tradebus(queue: str, meter: Meter, variant: str) -> None:
    from tradebus_contracts import MessageRegistry
    from tradebus_messaging import Bus, BusSettings, MessageContext

    inbox = None
    client = None
    if variant == "inbox":
        from tradebus_storage import MongoInbox, MongoSettings, create_client

        settings = MongoSettings()
        client = create_client(settings)
        inbox = MongoInbox(
            client, client[f"bench_{queue.replace('.', '_')}"], retention_seconds=3600
        )
    done = asyncio.Event()

    async def noop(message: BenchPing, ctx: MessageContext) -> None:
        if meter.tick():
            done.set()

    bus = Bus(
        BusSettings(url=URL, service="bench"), registry=MessageRegistry([BenchPing]), inbox=inbox
    )
    bus.subscribe(
        queue=queue,
        message_types=[BenchPing.message_type],
        handler=noop,
        prefetch=PREFETCH,
        concurrency=PREFETCH,
        use_inbox=inbox is not None,
        queue_type="quorum" if variant == "quorum" else "classic",
    )
    await bus.start()
    await done.wait()
    await bus.stop()
    if client is not None:
        await client.drop_database(f"bench_{queue.replace('.', '_')}")
        await client.close()


async def faststream(queue: str, meter: Meter) -> None:
    import logging

    from faststream.rabbit import Channel, RabbitBroker, RabbitQueue

    done = asyncio.Event()
    broker = RabbitBroker(URL, logger=None, log_level=logging.WARNING)

    @broker.subscriber(
        RabbitQueue(queue, durable=True, declare=False), channel=Channel(prefetch_count=PREFETCH)
    )
    async def handle(body: dict) -> None:
        if meter.tick():
            done.set()

    await broker.start()
    await done.wait()
    await broker.stop()


def celery_worker(queue: str, meter: Meter, pool: str) -> None:
    from bench.bus.celery_app import make_app

    app = make_app(queue, meter)
    app.worker_main(
        [
            "worker",
            "-P",
            pool,
            "-c",
            "1",
            "-Q",
            queue,
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ]
    )


def dramatiq_worker(queue: str, meter: Meter, threads: int) -> None:
    import threading

    import dramatiq
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    done = threading.Event()
    broker = RabbitmqBroker(url=URL)
    dramatiq.set_broker(broker)

    @dramatiq.actor(queue_name=queue, max_retries=0)
    def ping(n: int) -> None:
        with lock:
            if meter.tick():
                done.set()

    lock = threading.Lock()
    worker = dramatiq.Worker(broker, worker_threads=threads)
    worker.start()
    done.wait()
    worker.stop()


def main() -> None:
    lib, queue, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    option = sys.argv[5] if len(sys.argv) > 5 else ""
    meter = Meter(n, out)
    if lib == "aiopika":
        asyncio.run(aiopika(queue, meter))
    elif lib == "pika":
        pika_sync(queue, meter)
    elif lib == "tradebus":
        asyncio.run(tradebus(queue, meter, option))
    elif lib == "faststream":
        asyncio.run(faststream(queue, meter))
    elif lib == "celery":
        celery_worker(queue, meter, option)
    elif lib == "dramatiq":
        dramatiq_worker(queue, meter, int(option))
    else:
        raise SystemExit(f"unknown library {lib}")
    os._exit(0)  # worker libraries may leave non-daemon threads behind


if __name__ == "__main__":
    main()
