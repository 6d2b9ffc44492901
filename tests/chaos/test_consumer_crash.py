"""A consumer process SIGKILLed mid-handler: the message comes back, its effect happens once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest

from tests.support.contracts import DoWork, make_registry
from tests.support.infra import require_mongodb, require_rabbitmq
from tradebus_contracts import Envelope
from tradebus_messaging import Bus, BusSettings
from tradebus_storage import MongoSettings, create_client

pytestmark = pytest.mark.chaos


async def start_worker(queue: str, database: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.effect_worker",
        queue,
        database,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={
            **os.environ,
            "PYTHONPATH": os.getcwd(),
            # Retry long enough to outlive the killed process's open transaction:
            # the server keeps it (and its write conflicts) for its lifetime limit,
            # 60 s as mongod's transactionLifetimeLimitSeconds. 100 attempts of
            # 1-2 s give ~125 s of retry budget; short delays keep the wait close to 60 s.
            "TRADEBUS_BUS_MAX_ATTEMPTS": "100",
            "TRADEBUS_BUS_RETRY_CAP_SECONDS": "2",
        },
    )
    await wait_for_line(proc, "ready")
    return proc


async def wait_for_line(proc: asyncio.subprocess.Process, text: str, timeout: float = 20) -> None:
    assert proc.stdout is not None
    async with asyncio.timeout(timeout):
        while True:
            line = await proc.stdout.readline()
            if not line:
                raise AssertionError(f"worker exited before printing {text!r}")
            if line.decode().strip() == text:
                return


@pytest.fixture
async def setup(unique: str) -> AsyncIterator[dict[str, Any]]:
    rabbit = require_rabbitmq()
    require_mongodb()
    client = create_client(MongoSettings())
    db = client[f"chaos_{unique}"]
    publisher = Bus(BusSettings(url=rabbit, service="chaos-publisher"), registry=make_registry())
    await publisher.start()
    queue = f"chaos-{unique}.work"
    yield {"db": db, "publisher": publisher, "queue": queue, "database": db.name}
    await publisher.stop()
    connection = await aio_pika.connect(rabbit)
    channel = await connection.channel()
    for name in (queue, f"{queue}.dlq"):
        await channel.queue_delete(name)
    await connection.close()
    await client.drop_database(db.name)
    await client.close()


async def test_sigkill_mid_handler_redelivers_and_the_effect_happens_once(setup) -> None:
    db, queue = setup["db"], setup["queue"]
    first = await start_worker(queue, setup["database"])
    await setup["publisher"].publish(DoWork(key="k1", sleep=60))
    await wait_for_line(first, "handling")
    first.send_signal(signal.SIGKILL)
    await first.wait()

    second = await start_worker(queue, setup["database"])
    try:
        async with asyncio.timeout(150):
            while await db["effects"].count_documents({}) == 0:
                await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)
        assert await db["effects"].count_documents({"key": "k1"}) == 1
        starts = await db["starts"].find({}, {"_id": 0}).to_list()
        assert starts[0] == {"key": "k1", "redelivered": False}
        assert starts[1] == {"key": "k1", "redelivered": True}  # the broker gave it back
        assert await db["inbox"].count_documents({}) == 1
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
    assert second.returncode == 0


async def test_a_duplicate_delivery_is_applied_once(setup) -> None:
    db, queue = setup["db"], setup["queue"]
    worker = await start_worker(queue, setup["database"])
    try:
        connection = await aio_pika.connect(require_rabbitmq())
        channel = await connection.channel(publisher_confirms=True)
        envelope = Envelope(type=DoWork.message_type, source="test")
        for _ in range(3):  # the same message id, as after a publisher retry
            await channel.default_exchange.publish(
                aio_pika.Message(
                    DoWork(key="dup").model_dump_json().encode(),
                    headers=envelope.to_headers(),
                    delivery_mode=2,
                ),
                routing_key=queue,
            )
        await connection.close()
        async with asyncio.timeout(10):
            while await db["starts"].count_documents({}) < 1:
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        # Copies may run concurrently, but only one transaction records the id.
        assert await db["effects"].count_documents({"key": "dup"}) == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        await worker.wait()
