"""A real consumer process for crash tests: applies DoWork effects through the inbox.

    python -m tests.support.effect_worker QUEUE DATABASE

The first delivery of a message with `sleep` set waits inside the handler after
writing its effect in the (uncommitted) transaction, so a SIGKILL lands mid-handler.
"""

from __future__ import annotations

import asyncio
import sys

from tests.support.contracts import DoWork, make_registry
from tradebus_messaging import Bus, BusSettings, MessageContext
from tradebus_storage import MongoInbox, MongoSettings, create_client


async def main(queue: str, database: str) -> None:
    client = create_client(MongoSettings())
    db = client[database]
    inbox = MongoInbox(client, db, retention_seconds=3600)
    await inbox.ensure_indexes()

    async def handle(msg: DoWork, ctx: MessageContext) -> None:
        await db["starts"].insert_one({"key": msg.key, "redelivered": ctx.redelivered})
        await db["effects"].insert_one({"key": msg.key}, session=ctx.session)
        if msg.sleep and ctx.attempt == 1 and not ctx.redelivered:
            print("handling", flush=True)
            await asyncio.sleep(msg.sleep)

    bus = Bus(BusSettings(service="effect-worker"), registry=make_registry(), inbox=inbox)
    bus.subscribe(queue=queue, message_types=[DoWork.message_type], handler=handle, use_inbox=True)
    await bus.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await bus.stop()
    await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
