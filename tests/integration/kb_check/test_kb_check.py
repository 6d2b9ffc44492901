"""The knowledge-base consistency check on the real broker and MongoDB, with the real
ingest and embed workers: a document whose embed batches were removed from the queue
(stuck `ingesting`, its task ended by the watchdog) and an indexed document whose vectors
were removed are both repaired by re-enqueued batches that the embed worker turns back
into searchable vectors; orphan chunks, vectors and uploads are removed, while recent
and referenced uploads stay."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import pytest

from tests.integration.dealbrain.conftest import eventually
from tests.support.infra import mongodb_url
from tradebus_contracts import (
    REGISTRY,
    CheckKnowledgeBase,
    Contract,
    IngestDocument,
    KnowledgeBaseChecked,
    TaskStatus,
    TextSource,
)
from tradebus_knowledge import EmbeddingSettings
from tradebus_messaging import Bus, BusSettings, MessageContext
from tradebus_messaging.fairness import lane_queues
from tradebus_messaging.runner import Worker
from tradebus_omnirag_embed.app import QUEUE as EMBED_QUEUE
from tradebus_omnirag_embed.app import build as build_embed
from tradebus_omnirag_embed.settings import OmniragEmbedSettings
from tradebus_omnirag_ingest.app import SERVICE
from tradebus_omnirag_ingest.app import build as build_ingest
from tradebus_omnirag_ingest.settings import OmniragIngestSettings
from tradebus_storage import BlobStore, KnowledgeRepository, MongoSettings, TaskRepository

pytestmark = pytest.mark.integration

TEXT = " ".join(f"Clause {i}: under FOB the risk passes at the rail on day {i}." for i in range(80))
THIRD = " ".join(f"Term {i}: demurrage accrues after {i} free days at the port." for i in range(40))
OTHER = " ".join(f"Rule {i}: the issuing bank pays on {i} complying documents." for i in range(80))
SLOT = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)


@dataclass
class Rig:
    db: Any
    tenant: str
    client: Bus
    tasks: TaskRepository
    knowledge: KnowledgeRepository
    blobs: BlobStore
    checked: list[KnowledgeBaseChecked]
    start_embed: Callable[[], Any]
    stop_embed: Callable[[], Any]
    vhost: str


@pytest.fixture
async def rig(vhost: str, mongo: tuple[Any, Any], unique: str) -> AsyncIterator[Rig]:
    db = mongo[1]
    mongo_settings = MongoSettings(MONGODB_URL=mongodb_url(), MONGODB_DATABASE=db.name)

    def bus(service: str) -> BusSettings:
        return BusSettings(
            RABBITMQ_URL=vhost, service=service, retry_base_seconds=1, shutdown_grace_seconds=2
        )

    stack = AsyncExitStack()
    embed: list[Worker] = []

    async def start_embed() -> None:
        worker = await build_embed(
            OmniragEmbedSettings(),
            bus_settings=bus("omnirag-embed"),
            mongo=mongo_settings,
            embedding=EmbeddingSettings(provider="hashing", dimensions=64),
        )
        await worker.bus.start()
        embed.append(worker)

    async def stop_embed() -> None:
        worker = embed.pop()
        await worker.bus.stop()
        if worker.on_stop is not None:
            await worker.on_stop()

    ingest = await build_ingest(
        OmniragIngestSettings(
            chunk_max_tokens=64,
            chunk_overlap_tokens=8,
            embed_batch_size=4,
            # Judge everything at once: the test's data is seconds old.
            kb_check_stuck_after_seconds=0.001,
            kb_check_min_age_seconds=0,
            kb_check_blob_min_age_seconds=3600,
        ),
        bus_settings=bus(SERVICE),
        mongo=mongo_settings,
    )
    await ingest.bus.start()
    stack.push_async_callback(ingest.on_stop or _noop)
    stack.push_async_callback(ingest.bus.stop)
    checked: list[KnowledgeBaseChecked] = []

    async def listen(event: Contract, ctx: MessageContext) -> None:
        assert isinstance(event, KnowledgeBaseChecked)
        checked.append(event)

    client = Bus(bus(f"client-{unique}"), registry=REGISTRY)
    client.subscribe(
        queue=f"client-{unique}.checked",
        message_types=[KnowledgeBaseChecked.message_type],
        handler=listen,
    )
    await client.start()
    stack.push_async_callback(client.stop)
    try:
        yield Rig(
            db,
            f"tenant-{unique}",
            client,
            TaskRepository(db),
            KnowledgeRepository(db),
            BlobStore(db),
            checked,
            start_embed,
            stop_embed,
            vhost,
        )
    finally:
        while embed:
            await stop_embed()
        await stack.aclose()


async def _noop() -> None:
    return None


async def ingest(rig: Rig, text: str) -> tuple[str, str]:
    task, _ = await rig.tasks.create(tenant_id=rig.tenant, kind="rag.ingest")
    document_id = f"doc-{uuid.uuid4().hex[:8]}"
    await rig.client.publish(
        IngestDocument(
            task_id=task.id,
            tenant_id=rig.tenant,
            document_id=document_id,
            title=document_id,
            source=TextSource(text=text),
        ),
        tenant_id=rig.tenant,
        task_id=task.id,
    )
    return task.id, document_id


def endpoint_queues(queue: str) -> tuple[str, ...]:
    """A fair endpoint's queue and its lanes: its backlog is spread over all of them."""
    return (queue, *lane_queues(queue, BusSettings().fair_shards))


async def queue_depth(url: str, queue: str) -> int:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        total = 0
        for name in endpoint_queues(queue):
            declared = await channel.declare_queue(name, passive=True)
            total += int(declared.declaration_result.message_count or 0)
        return total


async def purge(url: str, queue: str) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for name in endpoint_queues(queue):
            await (await channel.declare_queue(name, passive=True)).purge()


async def fully_embedded(rig: Rig, document_id: str) -> bool:
    """Indexed, and every chunk of its live version in a searchable vector batch."""
    record = await rig.knowledge.document(rig.tenant, document_id)
    if record is None or record.get("status") != "indexed":
        return False
    chunks = set(await rig.knowledge.chunk_ids(rig.tenant, document_id, record["version"]))
    vectors = await rig.knowledge.tenant_vectors(rig.tenant, 64, document_id=document_id)
    return bool(chunks) and set(vectors.ids) == chunks and len(vectors.ids) == len(chunks)


async def test_the_check_repairs_documents_whose_embed_batches_were_removed(rig: Rig) -> None:
    # A: the embed worker is down and its queued batches are lost (purged); the task
    # watchdog then ends the task: the document stays `ingesting`, chunks without vectors.
    await rig.start_embed()
    await rig.stop_embed()  # its queue exists, nobody consumes
    stuck_task, stuck = await ingest(rig, TEXT)

    async def batches_queued() -> bool:
        task = await rig.tasks.get(rig.tenant, stuck_task)
        total = task.progress.total if task is not None else None
        return bool(total) and await queue_depth(rig.vhost, EMBED_QUEUE) == total

    await eventually(batches_queued, within=20)
    await purge(rig.vhost, EMBED_QUEUE)
    await rig.tasks.fail(rig.tenant, stuck_task, "deadline_exceeded", "past its deadline")

    # B: indexed, then its vector batches are removed.
    await rig.start_embed()
    indexed_task, indexed = await ingest(rig, OTHER)

    async def succeeded() -> bool:
        task = await rig.tasks.get(rig.tenant, indexed_task)
        return task is not None and task.status is TaskStatus.SUCCEEDED

    await eventually(succeeded, within=30)
    assert await fully_embedded(rig, indexed)
    removed = await rig.db["vectors"].delete_many({"document_id": indexed})
    assert removed.deleted_count >= 2
    assert not await fully_embedded(rig, indexed) and not await fully_embedded(rig, stuck)

    # C: every batch landed, but its builder died before switching the version (the
    # document is left `ingesting`, its vectors unsearchable).
    unswitched_task, unswitched = await ingest(rig, THIRD)

    async def c_succeeded() -> bool:
        task = await rig.tasks.get(rig.tenant, unswitched_task)
        return task is not None and task.status is TaskStatus.SUCCEEDED

    await eventually(c_succeeded, within=30)
    await rig.db["documents"].update_one(
        {"_id": unswitched},
        {
            "$set": {
                "status": "ingesting",
                "version": 0,
                "pending_task_id": unswitched_task,
                "pending_version": 1,
            },
            "$unset": {"indexed_task_id": ""},
        },
    )
    await rig.db["vectors"].update_many({"document_id": unswitched}, {"$set": {"indexed": False}})
    assert not await fully_embedded(rig, unswitched)

    # Orphans: vectors and a chunk of a document that is gone, an old upload nobody
    # refers to; kept: a recent unreferenced upload and an old one a task refers to.
    await rig.db["vectors"].insert_one(
        {
            "_id": "gone:0",
            "tenant_id": rig.tenant,
            "document_id": "gone",
            "version": 1,
            "chunk_ids": ["gone:0"],
            "dimensions": 64,
            "matrix": b"",
            "indexed": True,
        }
    )
    await rig.db["chunks"].insert_one(
        {
            "_id": "gone:0",
            "tenant_id": rig.tenant,
            "document_id": "gone",
            "version": 1,
            "index": 0,
            "text": "x",
            "content_hash": "h",
            "created_at": datetime.now(UTC),
        }
    )
    old = datetime.now(UTC) - timedelta(days=2)
    orphan_blob = await put_blob(rig, old)
    recent_blob = await put_blob(rig, None)
    referenced_blob = await put_blob(rig, old)
    await rig.tasks.create(
        tenant_id=rig.tenant,
        kind="rag.ingest",
        params={"command": {"source": {"kind": "upload", "blob_id": referenced_blob}}},
    )

    await rig.client.publish(CheckKnowledgeBase(slot=SLOT), message_id="schedule.kb-check@x")

    report = await eventually(
        lambda: rig.db["kb_checks"].find_one({"tenant_id": rig.tenant}), within=30
    )
    assert report["stuck_documents"] == 2 and report["stuck_failed"] == 0
    assert report["chunks_without_vectors"] > 0
    assert report["batches_reenqueued"] >= 3  # at least one per document
    assert report["orphan_chunks"] == report["orphan_chunks_removed"] == 1
    assert report["vectors_without_chunks"] == report["vectors_removed"] == 1
    assert report["orphan_blobs"] == report["orphan_blobs_removed"] == 1
    assert len(report["repair_tasks"]) == 3

    await eventually(lambda: fully_embedded(rig, stuck), within=30)
    await eventually(lambda: fully_embedded(rig, indexed), within=30)
    await eventually(lambda: fully_embedded(rig, unswitched), within=30)
    for task_id in report["repair_tasks"]:

        async def repaired(task_id: str = task_id) -> bool:
            task = await rig.tasks.get(rig.tenant, task_id)
            assert task is not None and task.kind == "rag.repair"
            return task.status is TaskStatus.SUCCEEDED

        await eventually(repaired, within=15)
    assert await rig.db["vectors"].find_one({"_id": "gone:0"}) is None
    assert await rig.db["chunks"].find_one({"_id": "gone:0"}) is None
    files = {str(f["_id"]) async for f in rig.db["blobs.files"].find({})}
    assert orphan_blob not in files and {recent_blob, referenced_blob} <= files

    event = await eventually(lambda: next(iter(rig.checked), None), within=10)
    assert event.tenant_id == rig.tenant and event.slot == SLOT
    assert event.batches_reenqueued == report["batches_reenqueued"]

    # The same slot again (a re-publish): already reported, nothing repeats.
    await rig.client.publish(CheckKnowledgeBase(slot=SLOT, tenant_id=rig.tenant))
    await rig.client.publish(CheckKnowledgeBase(slot=SLOT + timedelta(days=1)))
    later = await eventually(
        lambda: rig.db["kb_checks"].find_one(
            {"tenant_id": rig.tenant, "slot": SLOT + timedelta(days=1)}
        ),
        within=30,
    )
    # Everything consistent now: the next night finds nothing to do.
    assert later["chunks_without_vectors"] == later["batches_reenqueued"] == 0
    assert later["stuck_documents"] == later["orphan_blobs"] == later["vectors_removed"] == 0
    assert await rig.db["kb_checks"].count_documents({"tenant_id": rig.tenant}) == 2


async def put_blob(rig: Rig, uploaded: datetime | None) -> str:
    blob_id = await rig.blobs.put(
        b"bytes", tenant_id=rig.tenant, filename="a.txt", content_type="text/plain"
    )
    if uploaded is not None:
        from bson import ObjectId

        await rig.db["blobs.files"].update_one(
            {"_id": ObjectId(blob_id)}, {"$set": {"uploadDate": uploaded}}
        )
    return blob_id
