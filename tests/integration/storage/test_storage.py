import asyncio
from datetime import timedelta

import pytest

from tradebus_contracts import TaskStatus as S
from tradebus_storage import (
    AlreadyProcessed,
    BlobNotFound,
    BlobStore,
    LeaseRepository,
    MongoInbox,
    TaskRepository,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def tasks(mongo) -> TaskRepository:
    repo = TaskRepository(mongo[1])
    await repo.ensure_indexes()
    return repo


async def test_idempotency_key_yields_one_task_under_concurrent_creates(tasks) -> None:
    results = await asyncio.gather(
        *(tasks.create(tenant_id="t1", kind="rag.ingest", idempotency_key="k-1") for _ in range(20))
    )
    assert len({task.id for task, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    other, created = await tasks.create(tenant_id="t2", kind="rag.ingest", idempotency_key="k-1")
    assert created and other.id != results[0][0].id  # keys are unique per tenant only


async def test_transitions_are_compare_and_set_and_terminal_never_regresses(tasks) -> None:
    task, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    assert await tasks.transition("t1", task.id, S.SUCCEEDED) is None  # not from queued
    running = await tasks.transition("t1", task.id, S.RUNNING)
    assert running is not None and running.attempts == 1 and running.started_at
    done = await tasks.transition("t1", task.id, S.SUCCEEDED, result={"chunks": 3})
    assert done is not None and done.finished_at and done.expires_at
    for target in (S.RUNNING, S.FAILED, S.CANCELLED, S.QUEUED):
        assert await tasks.transition("t1", task.id, target) is None
    assert (await tasks.get("t1", task.id)).status is S.SUCCEEDED


async def test_racing_terminal_transitions_have_one_winner(tasks) -> None:
    for _ in range(5):
        task, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
        await tasks.transition("t1", task.id, S.RUNNING)
        won = await asyncio.gather(
            tasks.transition("t1", task.id, S.SUCCEEDED),
            tasks.transition("t1", task.id, S.CANCELLED),
        )
        assert sum(result is not None for result in won) == 1


async def test_concurrent_progress_increments_add_up(tasks) -> None:
    task, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.set_progress_total("t1", task.id, 30)
    await asyncio.gather(*(tasks.increment_progress("t1", task.id) for _ in range(30)))
    progress = (await tasks.get("t1", task.id)).progress
    assert (progress.done, progress.total) == (30, 30)


async def test_tenants_never_see_each_others_tasks(tasks) -> None:
    task, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    assert await tasks.get("t2", task.id) is None
    assert await tasks.transition("t2", task.id, S.CANCELLED) is None
    assert (await tasks.page("t2"))[0] == []


async def test_listing_pages_with_a_cursor_and_filters(tasks) -> None:
    ids = [(await tasks.create(tenant_id="t1", kind="rag.ingest"))[0].id for _ in range(5)]
    await tasks.transition("t1", ids[0], S.CANCELLED)
    page1, cursor = await tasks.page("t1", limit=2)
    page2, cursor2 = await tasks.page("t1", limit=2, cursor=cursor)
    page3, cursor3 = await tasks.page("t1", limit=2, cursor=cursor2)
    seen = [t.id for t in page1 + page2 + page3]
    assert seen == sorted(ids, reverse=True) and cursor3 is None  # newest first
    cancelled, _ = await tasks.page("t1", status=S.CANCELLED)
    assert [t.id for t in cancelled] == [ids[0]]


async def test_stuck_queued_finds_only_old_unpublished_queued_tasks(tasks) -> None:
    old, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    started, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.transition("t1", started.id, S.RUNNING)
    published, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.mark_published("t1", published.id)
    await asyncio.sleep(0.2)
    stuck = await tasks.stuck_queued(timedelta(seconds=0.1))
    assert [t.id for t in stuck] == [old.id]
    assert await tasks.stuck_queued(timedelta(hours=1)) == []


async def test_ttl_index_on_expires_at(tasks, mongo) -> None:
    indexes = await mongo[1]["tasks"].index_information()
    ttl = [i for i in indexes.values() if i.get("expireAfterSeconds") == 0]
    assert ttl and ttl[0]["key"] == [("expires_at", 1)]


async def test_inbox_records_once_and_rolls_back_with_the_handler(mongo) -> None:
    client, db = mongo
    inbox = MongoInbox(client, db, retention_seconds=60)
    await inbox.ensure_indexes()
    assert not await inbox.seen("q", "m1")
    async with inbox.transaction() as session:
        await db["effects"].insert_one({"_id": "m1"}, session=session)
        await inbox.record("q", "m1", session=session)
    assert await inbox.seen("q", "m1")
    with pytest.raises(AlreadyProcessed):
        await inbox.record("q", "m1")
    with pytest.raises(RuntimeError):
        async with inbox.transaction() as session:
            await db["effects"].insert_one({"_id": "m2"}, session=session)
            await inbox.record("q", "m2", session=session)
            raise RuntimeError("handler failed after writing")
    assert not await inbox.seen("q", "m2")
    assert await db["effects"].count_documents({}) == 1


async def test_one_lease_holder_at_a_time(mongo) -> None:
    leases = LeaseRepository(mongo[1])
    # TTLs long enough that a loaded machine never lets one lapse between two calls
    assert await leases.acquire("reconcile", "a", timedelta(seconds=3))
    assert not await leases.acquire("reconcile", "b", timedelta(seconds=3))
    assert await leases.acquire("reconcile", "a", timedelta(seconds=1))  # renew, shorter
    await asyncio.sleep(1.2)
    assert await leases.acquire("reconcile", "b", timedelta(seconds=5))
    assert not await leases.acquire("reconcile", "a", timedelta(seconds=5))


async def test_blobs_round_trip_and_stay_within_their_tenant(mongo) -> None:
    blobs = BlobStore(mongo[1])
    blob_id = await blobs.put(
        b"%PDF-1.4 ...", tenant_id="t1", filename="a.pdf", content_type="application/pdf"
    )
    blob = await blobs.get(blob_id, tenant_id="t1")
    assert (blob.data, blob.filename, blob.content_type) == (
        b"%PDF-1.4 ...",
        "a.pdf",
        "application/pdf",
    )
    with pytest.raises(BlobNotFound):
        await blobs.get(blob_id, tenant_id="t2")
    with pytest.raises(BlobNotFound):
        await blobs.get("not-an-id", tenant_id="t1")
