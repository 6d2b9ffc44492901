"""The floor of the broker hop: raw aio-pika direct reply-to RPC to the same echo handler,
no gateway and no tradebus runtime on either side.

    python -m bench.online.raw_rpc   (the server: RABBITMQ_URL, TRADEBUS_HTTP_PORT)

The server consumes `bench.raw-echo` (prefetch 64), answers each `AskRequest` with
`echo.answer` to its `reply_to` and acks; `measure` is the client, run in the benchmark
process: `concurrency` callers on one channel, each publishing a request to the default
exchange and awaiting its reply (correlation id -> future), closed loop like `load.measure`."""

from __future__ import annotations

import asyncio
import os
import uuid
from time import perf_counter

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from aiormq.abc import DeliveredMessage

from tradebus_contracts import AskRequest

from .echo import answer
from .load import Latency

QUEUE = "bench.raw-echo"
REPLY_TO = "amq.rabbitmq.reply-to"


async def measure(amqp_url: str, *, requests: int, concurrency: int) -> Latency:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        pending: dict[str, asyncio.Future[bytes]] = {}

        async def on_reply(message: DeliveredMessage) -> None:
            future = pending.pop(message.header.properties.correlation_id or "", None)
            if future is not None and not future.done():
                future.set_result(message.body)

        # The pseudo-queue is consumed on the channel itself (aio-pika's own RPC does so).
        raw = await channel.get_underlay_channel()
        await raw.basic_consume(REPLY_TO, on_reply, no_ack=True)
        latencies: list[float] = []
        remaining = requests

        async def call(n: int) -> float:
            cid = uuid.uuid4().hex
            future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
            pending[cid] = future
            body = AskRequest(tenant_id="bench", question=f"question {n}").model_dump_json()
            started = perf_counter()
            await channel.default_exchange.publish(
                aio_pika.Message(body.encode(), correlation_id=cid, reply_to=REPLY_TO),
                routing_key=QUEUE,
            )
            await asyncio.wait_for(future, 30)
            return perf_counter() - started

        async def caller(index: int) -> None:
            nonlocal remaining
            for warm in range(2):  # as load.measure: each caller warms up twice
                await call(-(index * 2 + warm))
            while remaining > 0:
                remaining -= 1
                latencies.append(await call(remaining))

        await asyncio.gather(*(caller(i) for i in range(concurrency)))
        return Latency.of(latencies)
    finally:
        await connection.close()


async def _readyz(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readline()
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    await writer.drain()
    writer.close()


async def serve() -> None:
    connection = await aio_pika.connect(os.environ["RABBITMQ_URL"])
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=64)
    queue = await channel.declare_queue(QUEUE, auto_delete=True)

    async def on_request(message: AbstractIncomingMessage) -> None:
        reply = answer(AskRequest.model_validate_json(message.body))
        await channel.default_exchange.publish(
            aio_pika.Message(
                reply.model_dump_json().encode(), correlation_id=message.correlation_id
            ),
            routing_key=message.reply_to or "",
        )
        await message.ack()

    await queue.consume(on_request)
    port = int(os.environ["TRADEBUS_HTTP_PORT"])
    server = await asyncio.start_server(_readyz, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve())
