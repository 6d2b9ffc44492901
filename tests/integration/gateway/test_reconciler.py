"""The watchdog against the real broker and MongoDB: a task recorded but never published
(the gateway died in between) or published and never heard of again is re-published
with the same message id; a task past its kind's deadline fails with
`deadline_exceeded`; a broken task is logged and counted, and the others still go."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from tradebus_contracts import REGISTRY, IngestDocument, TaskStatusChanged, TextSource
from tradebus_contracts import TaskStatus as S
from tradebus_gateway.submission import INGEST_KIND
from tradebus_gateway.watchdog import Watchdog, WatchdogPolicy
from tradebus_messaging import Bus
from tradebus_storage import TaskRepository

from .conftest import bus_settings

pytestmark = pytest.mark.integration

INGEST_QUEUE = "omnirag-ingest.ingest"


class Received:
    def __init__(self) -> None:
        self.items: list[tuple[Any, str]] = []

    async def __call__(self, msg: Any, ctx: Any) -> None:
        self.items.append((msg, ctx.envelope.id))

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.items) < count:
                await asyncio.sleep(0.05)


@pytest.fixture
async def tasks(mongo) -> TaskRepository:
    repo = TaskRepository(mongo[1])
    await repo.ensure_indexes()
    return repo


@pytest.fixture
async def buses(vhost: str) -> AsyncIterator[tuple[Bus, Received, Received]]:
    """The gateway's bus, plus an ingest worker and a status-event subscriber that record
    what they receive."""
    commands, events = Received(), Received()
    consumer = Bus(bus_settings(vhost, service="test-ingest"), registry=REGISTRY)
    consumer.subscribe(
        queue=INGEST_QUEUE, message_types=[IngestDocument.message_type], handler=commands
    )
    consumer.subscribe(
        queue="test.status", message_types=[TaskStatusChanged.message_type], handler=events
    )
    await consumer.start()
    publisher = Bus(bus_settings(vhost, service="gateway"), registry=REGISTRY)
    await publisher.start()
    yield publisher, commands, events
    await publisher.stop()
    await consumer.stop()


def policy(**values: Any) -> WatchdogPolicy:
    defaults: dict[str, Any] = {
        "stuck_after": timedelta(seconds=60),
        "republish_after": timedelta(seconds=1800),
        "default_deadline": timedelta(hours=1),
        "deadlines": {INGEST_KIND: timedelta(hours=1)},
    }
    return WatchdogPolicy(**{**defaults, **values})


async def ingest_task(tasks: TaskRepository, unique: str, n: int = 0) -> IngestDocument:
    command = IngestDocument(
        task_id=f"task-{unique}-{n}",
        tenant_id="t1",
        document_id=f"doc-{unique}-{n}",
        title="Lost publish",
        source=TextSource(text="hello"),
    )
    await tasks.create(
        tenant_id="t1",
        kind=INGEST_KIND,
        params={"command": command.model_dump(mode="json")},
        task_id=command.task_id,
    )
    return command


async def age(mongo, task_id: str, seconds: float, *fields: str) -> None:
    at = datetime.now(UTC) - timedelta(seconds=seconds)
    await mongo[1]["tasks"].update_one({"_id": task_id}, {"$set": dict.fromkeys(fields, at)})


async def test_tasks_whose_publish_was_never_recorded_are_republished(tasks, buses, unique) -> None:
    publisher, received, _ = buses
    command = await ingest_task(tasks, unique)
    watchdog = Watchdog(publisher, tasks, policy(stuck_after=timedelta(seconds=0)))
    assert (await watchdog.run_once()).republished == 1
    await received.wait_for(1)
    message, message_id = received.items[0]
    assert message == command and message_id == command.task_id  # recognisably the same
    assert (await tasks.get("t1", command.task_id)).published_at is not None
    assert (await watchdog.run_once()).republished == 0  # recorded now


async def test_published_tasks_never_heard_of_again_are_republished(
    tasks, buses, unique, mongo
) -> None:
    publisher, received, _ = buses
    lost = await ingest_task(tasks, unique, 0)
    await tasks.mark_published("t1", lost.task_id)
    await age(mongo, lost.task_id, 3600, "updated_at", "published_at")
    retrying = await ingest_task(tasks, unique, 1)
    await tasks.transition("t1", retrying.task_id, S.RUNNING)
    await tasks.transition("t1", retrying.task_id, S.RETRYING)
    await tasks.mark_published("t1", retrying.task_id)
    await age(mongo, retrying.task_id, 3600, "updated_at", "published_at")
    waiting = await ingest_task(tasks, unique, 2)  # published a minute ago: in the queue
    await tasks.mark_published("t1", waiting.task_id)
    await age(mongo, waiting.task_id, 60, "updated_at", "published_at")
    watchdog = Watchdog(publisher, tasks, policy(republish_after=timedelta(seconds=1800)))
    run = await watchdog.run_once()
    assert (run.republished, run.expired, run.errors) == (2, 0, 0)
    await received.wait_for(2)
    assert sorted(mid for _, mid in received.items) == sorted([lost.task_id, retrying.task_id])
    assert (await watchdog.run_once()).republished == 0  # their clocks restarted


async def test_tasks_past_their_kinds_deadline_fail_and_say_so(tasks, buses, unique, mongo) -> None:
    publisher, _, events = buses
    overdue = await ingest_task(tasks, unique, 0)
    await tasks.transition("t1", overdue.task_id, S.RUNNING)
    await age(mongo, overdue.task_id, 700, "queued_at")
    young = await ingest_task(tasks, unique, 1)
    await age(mongo, young.task_id, 100, "queued_at")
    other, _ = await tasks.create(tenant_id="t1", kind="report.build")  # the default applies
    await age(mongo, other.id, 100, "queued_at")
    watchdog = Watchdog(
        publisher,
        tasks,
        policy(
            deadlines={INGEST_KIND: timedelta(seconds=600)},
            default_deadline=timedelta(seconds=60),
        ),
    )
    run = await watchdog.run_once()
    assert (run.republished, run.expired, run.errors) == (0, 2, 0)
    failed = await tasks.get("t1", overdue.task_id)
    assert failed.status is S.FAILED and failed.error.code == "deadline_exceeded"
    assert "600 s deadline of rag.ingest" in failed.error.message
    assert (await tasks.get("t1", young.task_id)).status is S.QUEUED
    assert (await tasks.get("t1", other.id)).error.code == "deadline_exceeded"
    await events.wait_for(2)
    changes = {e.task_id: (e.previous_status, e.status) for e, _ in events.items}
    assert changes[overdue.task_id] == (S.RUNNING, S.FAILED)
    assert (await watchdog.run_once()).expired == 0  # ended once


async def test_a_broken_task_is_logged_and_counted_and_the_rest_still_run(
    tasks, buses, unique, mongo
) -> None:
    publisher, received, _ = buses
    broken = await ingest_task(tasks, unique, 0)
    await mongo[1]["tasks"].update_one(
        {"_id": broken.task_id}, {"$set": {"params.command.source": "not a source"}}
    )
    fine = await ingest_task(tasks, unique, 1)
    watchdog = Watchdog(publisher, tasks, policy(stuck_after=timedelta(seconds=0)))
    with capture_logs() as logs:
        run = await watchdog.run_once()
    assert (run.republished, run.errors) == (1, 1)
    failures = [e for e in logs if e["event"] == "re-publish failed"]
    assert failures and failures[0]["task_id"] == broken.task_id
    assert failures[0]["log_level"] == "error"
    assert any(e["event"] == "watchdog run" and e["errors"] == 1 for e in logs)
    await received.wait_for(1)
    assert received.items[0][1] == fine.task_id
