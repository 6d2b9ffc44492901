"""A benchmark-only RPC server: serves `dealbrain.ask.v1` on the `dealbrain.ask` queue with
the trivial echo handler, in a process of its own (`python -m bench.online.echo_rpc`).
RABBITMQ_URL and TRADEBUS_HTTP_PORT (its /readyz) come from the environment."""

from __future__ import annotations

import asyncio

from tradebus_contracts import REGISTRY, AskReply, AskRequest
from tradebus_messaging import Bus, BusSettings, MessageContext
from tradebus_messaging.runner import Worker, WorkerSettings, run_worker
from tradebus_observability import configure_logging

from .echo import answer

QUEUE = "dealbrain.ask"


async def handle(request: AskRequest, ctx: MessageContext) -> AskReply:
    return answer(request)


async def main() -> None:
    settings = WorkerSettings()
    bus = Bus(BusSettings(service="bench-echo"), registry=REGISTRY)
    # As many in flight as the load generator's highest concurrency: no queueing here.
    bus.serve(
        queue=QUEUE,
        request_type=AskRequest.message_type,
        handler=handle,
        prefetch=64,
        concurrency=64,
    )
    worker = Worker(
        service="bench-echo", bus=bus, http_host="127.0.0.1", http_port=settings.http_port
    )
    await run_worker(worker)


if __name__ == "__main__":
    configure_logging("bench-echo", "WARNING")
    asyncio.run(main())
