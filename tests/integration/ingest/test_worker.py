"""omnirag-ingest and omnirag-embed in-process against the real RabbitMQ (a vhost of the
test's own) and MongoDB (a database of the test's own): a document reaches `succeeded`;
a parser bomb and a forbidden URL fail their task at once with their code, are parked
with it, and leave the worker working."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aio_pika
import pytest

from tests.integration.dealbrain.conftest import eventually
from tests.integration.ingest.servers import ScriptedResolver, serving
from tests.support.infra import mongodb_url
from tradebus_contracts import (
    REGISTRY,
    EmbedChunks,
    IngestDocument,
    TaskStatus,
    TextSource,
    UploadSource,
    UrlSource,
)
from tradebus_knowledge import EmbeddingSettings
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.parking import ParkedMessage, ParkingLot
from tradebus_omnirag_embed.app import QUEUE as EMBED_QUEUE
from tradebus_omnirag_embed.app import build as build_embed
from tradebus_omnirag_embed.settings import OmniragEmbedSettings
from tradebus_omnirag_ingest.app import QUEUE, SERVICE
from tradebus_omnirag_ingest.app import build as build_ingest
from tradebus_omnirag_ingest.settings import OmniragIngestSettings
from tradebus_storage import BlobStore, MongoSettings, Task, TaskRepository

pytestmark = pytest.mark.integration

TENANT = "tenant-ingest"
TEXT = "Incoterms split the costs. FOB moves risk at the ship's rail. " * 40


@dataclass
class Workers:
    client: Bus
    db: Any
    tasks: TaskRepository
    lot: ParkingLot


@pytest.fixture
async def workers(vhost: str, mongo: tuple[Any, Any], unique: str) -> AsyncIterator[Workers]:
    db = mongo[1]
    mongo_settings = MongoSettings(MONGODB_URL=mongodb_url(), MONGODB_DATABASE=db.name)

    def bus(service: str) -> BusSettings:
        return BusSettings(
            RABBITMQ_URL=vhost,
            service=service,
            retry_base_seconds=1,
            shutdown_grace_seconds=2,
            connect_timeout_seconds=5,
        )

    resolver = ScriptedResolver({"intranet.example": [[ipaddress.ip_address("127.0.0.1")]]})
    ingest = await build_ingest(
        OmniragIngestSettings(
            chunk_max_tokens=64,
            chunk_overlap_tokens=8,
            embed_batch_size=4,
            parse_timeout_seconds=5,
            parse_memory_mb=256,
        ),
        bus_settings=bus(SERVICE),
        mongo=mongo_settings,
        resolver=resolver,
    )
    embed = await build_embed(
        OmniragEmbedSettings(),
        bus_settings=bus("omnirag-embed"),
        mongo=mongo_settings,
        embedding=EmbeddingSettings(provider="hashing", dimensions=64),
    )
    await embed.bus.start()
    await ingest.bus.start()
    client = Bus(bus(f"client-{unique}"), registry=REGISTRY)
    await client.start()
    connection = await aio_pika.connect_robust(vhost)
    try:
        yield Workers(
            client, db, TaskRepository(db), ParkingLot(connection, levels=bus("x").delay_levels)
        )
    finally:
        await connection.close()
        await client.stop()
        for worker in (ingest, embed):
            await worker.bus.stop()
            if worker.on_stop is not None:
                await worker.on_stop()


async def submit(w: Workers, source: Any) -> str:
    task, _ = await w.tasks.create(tenant_id=TENANT, kind="ingest")
    await w.client.publish(
        IngestDocument(
            task_id=task.id,
            tenant_id=TENANT,
            document_id=f"doc-{uuid.uuid4().hex[:8]}",
            title="t",
            source=source,
        ),
        tenant_id=TENANT,
        task_id=task.id,
    )
    return task.id


async def finished(w: Workers, task_id: str) -> Task:
    async def done() -> Task | None:
        task = await w.tasks.get(TENANT, task_id)
        return task if task is not None and task.terminal else None

    return await eventually(done, within=30)


async def parked(w: Workers, task_id: str, queue: str = QUEUE) -> ParkedMessage:
    async def find() -> ParkedMessage | None:
        for message in await w.lot.list(queue):
            if task_id.encode() in message.body:
                return message
        return None

    return await eventually(find, within=15)


async def test_a_document_is_chunked_embedded_and_indexed(workers: Workers) -> None:
    task = await finished(workers, await submit(workers, TextSource(text=TEXT)))
    assert task.status.value == "succeeded", task.error
    assert task.result and task.result["chunk_count"] > 1


async def test_a_parser_bomb_fails_its_task_once_and_the_worker_carries_on(
    workers: Workers,
) -> None:
    blob = await BlobStore(workers.db).put(
        b"<p>" * (1024 * 1024), tenant_id=TENANT, filename="bomb.html", content_type="text/html"
    )
    bomb = UploadSource(blob_id=blob, filename="bomb.html", content_type="text/html")
    task = await finished(workers, await submit(workers, bomb))
    assert task.status.value == "failed" and task.error is not None
    assert task.error.code == "too_complex"
    message = await parked(workers, task.id)
    assert message.exception_message.startswith("too_complex: ")
    assert message.reason == "permanent" and message.attempts == 1  # never retried
    after = await finished(workers, await submit(workers, TextSource(text=TEXT)))
    assert after.status.value == "succeeded"


async def test_a_url_resolving_to_loopback_fails_as_url_forbidden(workers: Workers) -> None:
    with serving() as site:
        source = UrlSource(url=f"http://intranet.example:{site.port}/doc.txt")
        task = await finished(workers, await submit(workers, source))
        assert site.requests == []
    assert task.status.value == "failed" and task.error is not None
    assert task.error.code == "url_forbidden"
    message = await parked(workers, task.id)
    assert message.exception_message.startswith("url_forbidden: ")


async def test_a_batch_whose_chunks_are_gone_fails_the_task_as_embed_failed(
    workers: Workers,
) -> None:
    task, _ = await workers.tasks.create(tenant_id=TENANT, kind="ingest")
    await workers.tasks.transition(TENANT, task.id, TaskStatus.RUNNING)
    await workers.client.publish(
        EmbedChunks(
            task_id=task.id,
            tenant_id=TENANT,
            document_id="doc-gone",
            batch_index=0,
            batch_count=1,
            chunk_ids=["doc-gone:0", "doc-gone:1"],
        ),
        tenant_id=TENANT,
        task_id=task.id,
    )
    failed = await finished(workers, task.id)
    assert failed.status.value == "failed" and failed.error is not None
    assert failed.error.code == "embed_failed" and "2 of the batch" in failed.error.message
    message = await parked(workers, task.id, EMBED_QUEUE)
    assert message.reason == "permanent" and message.attempts == 1
