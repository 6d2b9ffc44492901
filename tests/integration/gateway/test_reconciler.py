"""A task recorded but never published (the gateway died in between) is re-published."""

import asyncio
from datetime import timedelta

import aio_pika

from tests.support.infra import require_rabbitmq
from tradebus_contracts import REGISTRY, IngestDocument, TextSource
from tradebus_gateway.submission import INGEST_KIND, reconcile_once
from tradebus_messaging import Bus, BusSettings
from tradebus_storage import TaskRepository


async def test_reconciler_republishes_tasks_whose_publish_was_never_recorded(mongo, unique) -> None:
    tasks = TaskRepository(mongo[1])
    await tasks.ensure_indexes()
    command = IngestDocument(
        task_id=f"task-{unique}",
        tenant_id="t1",
        document_id=f"doc-{unique}",
        title="Lost publish",
        source=TextSource(text="hello"),
    )
    await tasks.create(
        tenant_id="t1",
        kind=INGEST_KIND,
        params={"command": command.model_dump(mode="json")},
        task_id=command.task_id,
    )
    received: list[tuple[IngestDocument, str]] = []
    consumer = Bus(BusSettings(url=require_rabbitmq(), service="test-ingest"), registry=REGISTRY)

    async def handle(msg: IngestDocument, ctx) -> None:
        received.append((msg, ctx.envelope.id))

    queue = f"t-{unique}.ingest"
    consumer.subscribe(queue=queue, message_types=[IngestDocument.message_type], handler=handle)
    await consumer.start()
    publisher = Bus(BusSettings(url=require_rabbitmq(), service="gateway"), registry=REGISTRY)
    await publisher.start()
    try:
        await asyncio.sleep(0.2)
        assert await reconcile_once(publisher, tasks, timedelta(seconds=0)) == 1
        async with asyncio.timeout(10):
            while not received:
                await asyncio.sleep(0.05)
        message, message_id = received[0]
        assert message == command and message_id == command.task_id  # recognisably the same
        assert (await tasks.get("t1", command.task_id)).published_at is not None
        assert await reconcile_once(publisher, tasks, timedelta(seconds=0)) == 0  # recorded now
    finally:
        await publisher.stop()
        await consumer.stop()
        connection = await aio_pika.connect(require_rabbitmq())
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.queue_delete(f"{queue}.dlq")
        await connection.close()
