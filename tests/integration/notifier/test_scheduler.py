"""The cron scheduler on the real broker and MongoDB: three replicas (each its own broker
connection and MongoDB client) fire every slot exactly once; a slot missed while every
replica was down fires once at start-up (only the latest missed one); a slot claimed by
a replica that died before publishing is published by another, under the same id."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.dealbrain.conftest import eventually
from tests.support.infra import require_mongodb
from tradebus_contracts import REGISTRY, RunSweeps
from tradebus_messaging import Bus, BusSettings, MessageContext
from tradebus_notifier.adapters.cron_scheduler import CronScheduler
from tradebus_notifier.domain.cron import resolve_jobs
from tradebus_storage import MongoSettings, ScheduleRuns, ScheduleSpec, create_client
from tradebus_storage.schedule_runs import run_id, slot_message_id

pytestmark = pytest.mark.integration

Received = list[tuple[datetime, str]]  # (slot, message id) of every command consumed


def settings(vhost: str, service: str) -> BusSettings:
    return BusSettings.model_validate(
        {"RABBITMQ_URL": vhost, "service": service, "shutdown_grace_seconds": 1}
    )


@pytest.fixture
async def consumer(vhost: str) -> AsyncIterator[Received]:
    """Stands in for the command's owner: counts what arrives."""
    received: Received = []

    async def count(command: RunSweeps, ctx: MessageContext) -> None:
        received.append((command.slot, ctx.envelope.id))

    bus = Bus(settings(vhost, "owner"), registry=REGISTRY)
    bus.subscribe(queue="owner.sweeps", message_types=[RunSweeps.message_type], handler=count)
    await bus.start()
    yield received
    await bus.stop()


Start = Callable[..., Awaitable[CronScheduler]]


@pytest.fixture
async def replicas(vhost: str, mongo: tuple[Any, Any]) -> AsyncIterator[Start]:
    """Starts scheduler replicas, each with a broker connection and MongoDB client of its own."""
    stack = AsyncExitStack()
    db_name = mongo[1].name

    async def start(
        cron: str, *, holder: str, catch_up: float = 0, grace: float = 60, run: bool = True
    ) -> CronScheduler:
        client = create_client(MongoSettings(url=require_mongodb()))
        stack.push_async_callback(client.close)
        runs = ScheduleRuns(client[db_name])
        await runs.ensure_indexes()
        bus = Bus(settings(vhost, f"notifier-{holder}"), registry=REGISTRY)
        await bus.start()
        stack.push_async_callback(bus.stop)
        spec = ScheduleSpec(name="sweeps", cron=cron, command=RunSweeps.message_type)
        scheduler = CronScheduler(
            jobs=resolve_jobs([spec], REGISTRY, configured=True),
            runs=runs,
            publish=bus.publish,
            holder=holder,
            catch_up=timedelta(seconds=catch_up),
            grace=timedelta(seconds=grace),
            give_up_after=timedelta(hours=1),
            tick_seconds=0.2,
            ready=lambda: bus.connected,
        )
        if run:
            scheduler.start()
            stack.push_async_callback(scheduler.stop)
        return scheduler

    yield start
    await stack.aclose()


async def test_three_replicas_fire_each_slot_exactly_once(
    replicas: Start, consumer: Received, mongo: tuple[Any, Any]
) -> None:
    started = datetime.now(UTC)
    for holder in ("a", "b", "c"):
        await replicas("* * * * * *", holder=holder)  # every second
    await eventually(lambda: len({s for s, _ in consumer}) >= 4, within=15)
    await asyncio.sleep(1.5)  # late duplicates would have arrived by now
    per_slot = Counter(slot for slot, _ in consumer)
    assert per_slot and set(per_slot.values()) == {1}, per_slot
    assert all(slot >= started.replace(microsecond=0) for slot in per_slot)
    assert all(mid == slot_message_id("sweeps", slot) for slot, mid in consumer)
    runs = await mongo[1]["schedule_runs"].find({"job": "sweeps"}).to_list()
    assert {r["status"] for r in runs} <= {"published", "claimed"}
    holders = Counter(r["holder"] for r in runs)
    assert sum(holders.values()) == len(runs) >= len(per_slot)


async def test_after_downtime_the_latest_missed_slot_runs_once(
    replicas: Start, consumer: Received, mongo: tuple[Any, Any]
) -> None:
    db = mongo[1]
    spec = ScheduleSpec(name="sweeps", cron="*/10 * * * * *", command=RunSweeps.message_type)
    now = datetime.now(UTC)
    if (spec.next_slot(now) - now).total_seconds() < 3:  # not across a slot boundary
        await asyncio.sleep((spec.next_slot(now) - now).total_seconds() + 0.1)
        now = datetime.now(UTC)
    latest = spec.latest_slot(now)
    # The last run before every replica went down, 60 s ago: five slots since were missed.
    await ScheduleRuns(db).claim("sweeps", latest - timedelta(seconds=60), holder="old", now=now)
    first = await replicas("*/10 * * * * *", holder="a", catch_up=45)
    fired_at_start = await eventually(lambda: [s for s, _ in consumer if s <= latest], within=10)
    for holder in ("b", "c"):  # replicas coming up after it find the slot claimed
        await replicas("*/10 * * * * *", holder=holder, catch_up=45)
    await asyncio.sleep(1.5)
    assert fired_at_start == [latest]
    assert [s for s, _ in consumer if s <= latest] == [latest]  # once, and no backlog

    async def published() -> Any:
        run = await ScheduleRuns(db).get("sweeps", latest)
        return run if run is not None and run.status == "published" else None

    record = await eventually(published, within=5)
    assert record.catch_up
    assert record.holder == "a"
    await first.stop()


async def test_a_missed_slot_older_than_the_window_does_not_run(
    replicas: Start, consumer: Received, mongo: tuple[Any, Any]
) -> None:
    scheduler = await replicas("0 0 1 1 *", holder="a", catch_up=60, run=False)  # yearly
    assert await scheduler.tick() == []
    assert await mongo[1]["schedule_runs"].count_documents({}) == 0


async def test_a_claim_whose_holder_died_before_publishing_is_published_by_another(
    replicas: Start, consumer: Received, mongo: tuple[Any, Any]
) -> None:
    db = mongo[1]
    slot = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    claimed_long_ago = datetime.now(UTC) - timedelta(seconds=5)
    assert await ScheduleRuns(db).claim("sweeps", slot, holder="dead", now=claimed_long_ago)
    # A yearly schedule: the only thing to publish is the dead holder's claim.
    await replicas("0 0 1 1 *", holder="b", grace=2)
    await eventually(lambda: consumer, within=10)
    assert consumer == [(slot, slot_message_id("sweeps", slot))]
    record = await eventually(
        lambda: db["schedule_runs"].find_one(
            {"_id": run_id("sweeps", slot), "status": "published"}
        ),
        within=5,
    )
    assert record["holder"] == "b"
    assert record["publish_attempts"] == 2
