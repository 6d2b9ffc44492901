"""A document's life through the real workers (omnirag-ingest and omnirag-embed in-process,
the real broker and MongoDB): a re-ingest under the same id builds a new version that
replaces the old one, unchanged or duplicate content is a no-op, a late embed batch of a
deleted document leaves nothing, and the purge consumer empties a deleted document."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.dealbrain.conftest import eventually
from tests.support.infra import mongodb_url
from tradebus_contracts import (
    REGISTRY,
    DocumentDeleted,
    EmbedChunks,
    IngestDocument,
    TaskStatus,
    TextSource,
)
from tradebus_knowledge import EmbeddingSettings
from tradebus_messaging import Bus, BusSettings
from tradebus_omnirag_embed.app import build as build_embed
from tradebus_omnirag_embed.settings import OmniragEmbedSettings
from tradebus_omnirag_ingest.app import SERVICE
from tradebus_omnirag_ingest.app import build as build_ingest
from tradebus_omnirag_ingest.settings import OmniragIngestSettings
from tradebus_storage import (
    DocumentCatalog,
    KnowledgeRepository,
    MongoSettings,
    NewChunk,
    Task,
    TaskRepository,
)

pytestmark = pytest.mark.integration

TENANT = "tenant-lifecycle"
DIMENSIONS = 64


@dataclass
class World:
    client: Bus
    db: Any
    tasks: TaskRepository
    kb: KnowledgeRepository
    catalog: DocumentCatalog

    async def ingest(self, document_id: str, text: str) -> Task:
        task, _ = await self.tasks.create(tenant_id=TENANT, kind="rag.ingest")
        await self.client.publish(
            IngestDocument(
                task_id=task.id,
                tenant_id=TENANT,
                document_id=document_id,
                title=document_id,
                source=TextSource(text=text),
            ),
            tenant_id=TENANT,
            task_id=task.id,
        )
        return await self.finished(task.id)

    async def finished(self, task_id: str) -> Task:
        async def done() -> Task | None:
            task = await self.tasks.get(TENANT, task_id)
            return task if task is not None and task.terminal else None

        return await eventually(done, within=30)

    async def texts(self, document_id: str) -> list[str]:
        chunks = await self.db["chunks"].find({"document_id": document_id}).to_list()
        return [c["text"] for c in chunks]


@pytest.fixture
async def world(vhost: str, mongo: tuple[Any, Any], unique: str) -> AsyncIterator[World]:
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

    ingest = await build_ingest(
        OmniragIngestSettings(chunk_max_tokens=16, chunk_overlap_tokens=0, embed_batch_size=2),
        bus_settings=bus(SERVICE),
        mongo=mongo_settings,
    )
    # One batch at a time, in order: a later message shows an earlier one was handled.
    embed = await build_embed(
        OmniragEmbedSettings(prefetch=1, concurrency=1),
        bus_settings=bus("omnirag-embed"),
        mongo=mongo_settings,
        embedding=EmbeddingSettings(provider="hashing", dimensions=DIMENSIONS),
    )
    await embed.bus.start()
    await ingest.bus.start()
    client = Bus(bus(f"client-{unique}"), registry=REGISTRY)
    await client.start()
    try:
        yield World(client, db, TaskRepository(db), KnowledgeRepository(db), DocumentCatalog(db))
    finally:
        await client.stop()
        for worker in (ingest, embed):
            await worker.bus.stop()
            if worker.on_stop is not None:
                await worker.on_stop()


OLD = "Our warehouse in Rotterdam closes at five. Trucks must book a slot a day ahead."
NEW = "Our warehouse in Rotterdam now closes at three. Trucks book slots two days ahead."


async def test_a_reingest_builds_a_new_version_that_replaces_the_old(world: World) -> None:
    document = f"doc-{uuid.uuid4().hex[:8]}"
    first = await world.ingest(document, OLD)
    assert first.status is TaskStatus.SUCCEEDED
    old_ids = (await world.kb.tenant_vectors(TENANT, DIMENSIONS, document_id=document)).ids
    assert old_ids and all(i.startswith(f"{document}:") for i in old_ids)

    second = await world.ingest(document, NEW)
    assert second.status is TaskStatus.SUCCEEDED
    record = await world.catalog.get(TENANT, document)
    assert record is not None and record.version == 2 and record.task_id == second.id
    new_ids = (await world.kb.tenant_vectors(TENANT, DIMENSIONS, document_id=document)).ids
    assert new_ids and all(i.startswith(f"{document}#2:") for i in new_ids)
    assert " ".join(await world.texts(document)).count("three") == 1  # old version removed
    assert "five" not in " ".join(await world.texts(document))


async def test_unchanged_and_duplicate_content_are_no_ops(world: World) -> None:
    document = f"doc-{uuid.uuid4().hex[:8]}"
    await world.ingest(document, OLD)
    chunks = await world.texts(document)
    again = await world.ingest(document, OLD)
    assert again.status is TaskStatus.SUCCEEDED and again.result is not None
    assert again.result["unchanged"] is True
    assert await world.texts(document) == chunks
    record = await world.catalog.get(TENANT, document)
    assert record is not None and record.version == 1  # still the first version live

    twin = f"doc-{uuid.uuid4().hex[:8]}"
    copy = await world.ingest(twin, OLD)
    assert copy.status is TaskStatus.SUCCEEDED and copy.result is not None
    assert copy.result["duplicate_of"] == document == copy.result["document_id"]
    assert await world.catalog.get(TENANT, twin) is None  # not stored twice
    assert await world.texts(twin) == []


async def test_a_late_batch_of_a_deleted_document_leaves_no_vectors(world: World) -> None:
    document = f"doc-{uuid.uuid4().hex[:8]}"
    task, _ = await world.tasks.create(tenant_id=TENANT, kind="rag.ingest")
    await world.tasks.transition(TENANT, task.id, TaskStatus.RUNNING)
    version = await world.kb.upsert_document(
        tenant_id=TENANT, document_id=document, task_id=task.id, title="t", metadata={}
    )
    await world.kb.store_chunks(
        tenant_id=TENANT,
        document_id=document,
        version=version,
        chunks=[NewChunk(0, "A chunk of text.", 4, "h0")],
    )
    await world.tasks.set_progress_total(TENANT, task.id, 1)
    # Deleted while the batch is on its way, the task not (yet) cancelled: the race the
    # tombstone check closes.
    await world.catalog.mark_deleted(TENANT, document)
    await world.client.publish(
        EmbedChunks(
            task_id=task.id,
            tenant_id=TENANT,
            document_id=document,
            batch_index=0,
            batch_count=1,
            chunk_ids=[f"{document}:0"],
        ),
        tenant_id=TENANT,
        task_id=task.id,
    )
    # The next document through the same single-slot worker shows the batch was handled.
    assert (await world.ingest(f"doc-{uuid.uuid4().hex[:8]}", NEW)).status is TaskStatus.SUCCEEDED
    assert await world.db["vectors"].count_documents({"document_id": document}) == 0
    assert await world.db["chunks"].count_documents({"document_id": document}) == 0
    current = await world.tasks.get(TENANT, task.id)
    assert current is not None and current.status is not TaskStatus.SUCCEEDED
    assert await world.kb.indexed_document(TENANT, document) is None


async def test_the_purge_consumer_empties_a_deleted_document(world: World) -> None:
    document = f"doc-{uuid.uuid4().hex[:8]}"
    await world.ingest(document, OLD)
    record = await world.catalog.mark_deleted(TENANT, document)
    assert record is not None
    await world.client.publish(
        DocumentDeleted(
            tenant_id=TENANT,
            document_id=document,
            deleted_at=datetime.now(UTC),
            chunk_count=record.chunk_count,
        ),
        tenant_id=TENANT,
    )

    async def purged() -> bool | None:
        left = await world.db["chunks"].count_documents({"document_id": document})
        left += await world.db["vectors"].count_documents({"document_id": document})
        return True if left == 0 else None

    assert await eventually(purged, within=15)
    tombstone = await world.db["documents"].find_one({"_id": document})
    assert tombstone is not None and tombstone["status"] == "deleted" and tombstone["purged_at"]
    # A redelivered ingest for it is cancelled, never resurrects it.
    task, _ = await world.tasks.create(tenant_id=TENANT, kind="rag.ingest")
    await world.client.publish(
        IngestDocument(
            task_id=task.id,
            tenant_id=TENANT,
            document_id=document,
            title="again",
            source=TextSource(text=NEW),
        ),
        tenant_id=TENANT,
        task_id=task.id,
    )
    assert (await world.finished(task.id)).status is TaskStatus.CANCELLED
    assert await world.db["chunks"].count_documents({"document_id": document}) == 0
