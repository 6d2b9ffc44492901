"""The audit trail, the revive transition (replays from the parking lot) and the
watchdog's queries, against MongoDB."""

from datetime import UTC, datetime, timedelta

import pytest

from tradebus_contracts import TaskStatus as S
from tradebus_contracts import TaskStatusChanged
from tradebus_storage import TaskFlow, TaskRepository
from tradebus_storage.tasks import HISTORY_LIMIT

pytestmark = pytest.mark.integration


@pytest.fixture
async def tasks(mongo) -> TaskRepository:
    repo = TaskRepository(mongo[1])
    await repo.ensure_indexes()
    return repo


async def _age(mongo, task_id: str, seconds: float, *fields: str) -> None:
    """Pretend `fields` were written `seconds` ago."""
    at = datetime.now(UTC) - timedelta(seconds=seconds)
    await mongo[1]["tasks"].update_one({"_id": task_id}, {"$set": dict.fromkeys(fields, at)})


def _trail(task) -> list[tuple]:
    return [(h["from"], h["to"], h["reason"]) for h in task.history]


async def test_every_transition_is_in_the_history_with_where_it_came_from(tasks) -> None:
    task, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.transition("t1", task.id, S.RUNNING)
    await tasks.transition("t1", task.id, S.RETRYING)
    await tasks.transition("t1", task.id, S.RUNNING)
    done = await tasks.fail("t1", task.id, "ingest_failed", "$where: a message like a path")
    assert done.attempts == 2 and done.error.message == "$where: a message like a path"
    assert _trail(done) == [
        (None, "queued", "created"),
        ("queued", "running", None),
        ("running", "retrying", None),
        ("retrying", "running", None),
        ("running", "failed", "ingest_failed"),
    ]
    assert all(isinstance(h["at"], datetime) for h in done.history)
    assert await tasks.transition("t1", task.id, S.RUNNING) is None  # terminal stays
    assert len((await tasks.get("t1", task.id)).history) == 5  # a refused move leaves no trace


async def test_history_is_bounded(tasks) -> None:
    task, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    for _ in range(HISTORY_LIMIT):
        await tasks.transition("t1", task.id, S.RUNNING)
        await tasks.transition("t1", task.id, S.RETRYING)
    history = (await tasks.get("t1", task.id)).history
    assert len(history) == HISTORY_LIMIT
    assert (history[-1]["from"], history[-1]["to"]) == ("running", "retrying")  # newest kept


@pytest.mark.parametrize(
    "code", ["retries_exhausted", "permanent", "delivery_limit", "timeout", "deadline_exceeded"]
)
async def test_revive_brings_a_task_failed_by_a_fault_back_to_queued(tasks, code) -> None:
    task, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.transition("t1", task.id, S.RUNNING)
    failed = await tasks.fail("t1", task.id, code, "parked")
    assert failed.expires_at is not None
    revived = await tasks.revive("t1", task.id, "replayed by ops")
    assert revived is not None and revived.status is S.QUEUED
    assert revived.error is None and revived.expires_at is None and revived.finished_at is None
    assert revived.revivals == 1 and revived.queued_at > failed.queued_at
    last = revived.history[-1]
    assert (last["from"], last["to"], last["reason"]) == ("failed", "queued", "replayed by ops")
    assert last["error"] == {"code": code, "message": "parked"}  # what was undone
    assert await tasks.revive("t1", task.id, "again") is None  # only from failed


async def test_revive_never_undoes_success_cancellation_or_a_handlers_own_verdict(tasks) -> None:
    ok, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.transition("t1", ok.id, S.RUNNING)
    await tasks.transition("t1", ok.id, S.SUCCEEDED)
    cancelled, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.transition("t1", cancelled.id, S.CANCELLED)
    rejected, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.fail("t1", rejected.id, "corrupt_document", "not a PDF")
    live, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    for task in (ok, cancelled, rejected, live):
        assert await tasks.revive("t1", task.id, "replay") is None
    assert await tasks.revive("t2", rejected.id, "replay") is None  # tenant-scoped
    statuses = [(await tasks.get("t1", t.id)).status for t in (ok, cancelled, rejected, live)]
    assert statuses == [S.SUCCEEDED, S.CANCELLED, S.FAILED, S.QUEUED]


async def test_a_recorded_fault_makes_a_handlers_failure_revivable(tasks) -> None:
    task, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    assert not await tasks.record_fault("t1", task.id, {"reason": "permanent"})  # not failed
    await tasks.fail("t1", task.id, "embed_failed", "boom")
    assert await tasks.record_fault("t1", task.id, {"reason": "retries_exhausted"})
    failed = await tasks.get("t1", task.id)
    assert failed.error.code == "embed_failed" and failed.fault == {"reason": "retries_exhausted"}
    revived = await tasks.revive("t1", task.id, "replay")
    assert revived is not None and revived.fault is None


async def test_a_replayed_message_revives_and_starts_its_task(tasks) -> None:
    events: list[TaskStatusChanged] = []

    async def announce(event: TaskStatusChanged) -> None:
        events.append(event)

    flow = TaskFlow(tasks, announce)
    task, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await flow.start("t1", task.id)
    await flow.fault("t1", task.id, "retries_exhausted", "parked", {"reason": "retries_exhausted"})
    assert await flow.start("t1", task.id) is None  # an ordinary redelivery: stays failed
    events.clear()
    running = await flow.start("t1", task.id, replayed=True)
    assert running is not None and running.status is S.RUNNING and running.attempts == 2
    assert [(e.previous_status, e.status) for e in events] == [
        (S.FAILED, S.QUEUED),
        (S.QUEUED, S.RUNNING),
    ]
    done = await flow.succeed("t1", task.id, {"chunks": 1})
    assert done.status is S.SUCCEEDED
    assert await flow.start("t1", task.id, replayed=True) is None  # success is final


async def test_fault_fails_once_and_keeps_a_handlers_own_code(tasks) -> None:
    async def announce(event: TaskStatusChanged) -> None:
        pass

    flow = TaskFlow(tasks, announce)
    queued, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    failed = await flow.fault("t1", queued.id, "malformed", "bad body", {"reason": "malformed"})
    assert failed.error.code == "malformed" and failed.fault == {"reason": "malformed"}
    assert await flow.fault("t1", queued.id, "malformed", "again", {"reason": "x"}) is None
    assert (await tasks.get("t1", queued.id)).error.message == "bad body"  # no overwrite
    ended, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.transition("t1", ended.id, S.CANCELLED)
    assert await flow.fault("t1", ended.id, "timeout", "late", {"reason": "timeout"}) is None
    assert (await tasks.get("t1", ended.id)).status is S.CANCELLED


async def test_unanswered_finds_published_queued_or_retrying_tasks_untouched_long(
    tasks, mongo
) -> None:
    lost, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.mark_published("t1", lost.id)
    await _age(mongo, lost.id, 600, "updated_at", "published_at")
    retry, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.transition("t1", retry.id, S.RUNNING)
    await tasks.transition("t1", retry.id, S.RETRYING)
    await tasks.mark_published("t1", retry.id)
    await _age(mongo, retry.id, 900, "updated_at", "published_at")
    fresh, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")  # published just now
    await tasks.mark_published("t1", fresh.id)
    unpublished, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")  # stuck_queued's
    await _age(mongo, unpublished.id, 600, "updated_at")
    running, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.transition("t1", running.id, S.RUNNING)
    await tasks.mark_published("t1", running.id)
    await _age(mongo, running.id, 600, "updated_at", "published_at")
    found = await tasks.unanswered(timedelta(seconds=300))
    assert [t.id for t in found] == [retry.id, lost.id]  # oldest first
    await tasks.mark_published("t1", lost.id)  # re-published: its clock restarts
    assert [t.id for t in await tasks.unanswered(timedelta(seconds=300))] == [retry.id]
    assert [t.id for t in await tasks.unanswered(timedelta(seconds=300), limit=1)] == [retry.id]


async def test_overdue_applies_each_kinds_deadline_to_unfinished_tasks(tasks, mongo) -> None:
    ingest_old, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await _age(mongo, ingest_old.id, 120, "queued_at")
    ingest_young, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await _age(mongo, ingest_young.id, 30, "queued_at")
    other_old, _ = await tasks.create(tenant_id="t1", kind="report.build")
    await tasks.transition("t1", other_old.id, S.RUNNING)
    await _age(mongo, other_old.id, 30, "queued_at")
    legacy, _ = await tasks.create(tenant_id="t1", kind="report.build")  # no queued_at
    await mongo[1]["tasks"].update_one(
        {"_id": legacy.id},
        {"$unset": {"queued_at": ""}, "$set": {"created_at": datetime.now(UTC) - timedelta(1)}},
    )
    done, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.transition("t1", done.id, S.CANCELLED)
    await _age(mongo, done.id, 9999, "queued_at")
    found = await tasks.overdue({"rag.ingest": timedelta(seconds=60)}, timedelta(seconds=10))
    assert {t.id for t in found} == {ingest_old.id, other_old.id, legacy.id}
    assert len(await tasks.overdue({}, timedelta(seconds=10), limit=2)) == 2
