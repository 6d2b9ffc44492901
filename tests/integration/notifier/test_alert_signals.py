"""The alert signals read from the real database, in the shapes the services write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import pytest

from tradebus_contracts import TaskStatus
from tradebus_messaging.fairness import lane_queues
from tradebus_messaging.topology import parking_queue
from tradebus_notifier.adapters.alert_signals import AmqpQueueProbe, MongoSignals
from tradebus_notifier.domain.alert_rules import Counts
from tradebus_storage import TaskRepository

pytestmark = pytest.mark.integration


async def test_retrieval_counts_are_summed_per_tenant_over_the_window(mongo) -> None:
    _, db = mongo
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    minute = now.replace(second=0)
    docs: list[dict[str, Any]] = [
        {"tenant_id": "acme", "minute": minute, "asks": 10, "empty": 4},
        {"tenant_id": "acme", "minute": minute - timedelta(minutes=5), "asks": 10, "empty": 1},
        {"tenant_id": "acme", "minute": minute - timedelta(minutes=30), "asks": 99, "empty": 99},
        {"tenant_id": "globex", "minute": minute, "asks": 3, "empty": 0},
    ]
    await db["retrieval_stats"].insert_many(docs)
    got = await MongoSignals(db).retrieval(now - timedelta(minutes=15))
    assert got == {"acme": Counts(20, 5), "globex": Counts(3, 0)}


async def test_task_outcomes_count_what_finished_in_the_window_per_kind(mongo) -> None:
    _, db = mongo
    tasks = TaskRepository(db)
    since = datetime.now(UTC) - timedelta(seconds=1)
    for kind, outcome in [
        ("omnirag.ingest", TaskStatus.SUCCEEDED),
        ("omnirag.ingest", TaskStatus.FAILED),
        ("omnirag.ingest", TaskStatus.FAILED),
        ("nexus.assess", TaskStatus.SUCCEEDED),
        ("nexus.assess", TaskStatus.CANCELLED),  # neither success nor failure
        ("nexus.assess", None),  # still running
    ]:
        task, _ = await tasks.create(tenant_id="acme", kind=kind)
        await tasks.transition("acme", task.id, TaskStatus.RUNNING)
        if outcome is TaskStatus.FAILED:
            await tasks.fail("acme", task.id, code="boom", message="boom")
        elif outcome is not None:
            await tasks.transition("acme", task.id, outcome)
    got = await MongoSignals(db).task_outcomes(since)
    assert got == {"omnirag.ingest": Counts(3, 2), "nexus.assess": Counts(1, 0)}
    assert await MongoSignals(db).task_outcomes(datetime.now(UTC) + timedelta(seconds=1)) == {}


async def test_the_latest_recall_per_tenant_and_an_empty_collection(mongo) -> None:
    _, db = mongo
    signals = MongoSignals(db)
    assert await signals.latest_recall() == {}  # the collection does not exist yet
    now = datetime.now(UTC).replace(microsecond=0)
    await db["rag_quality"].insert_many(
        [
            {
                "tenant_id": "acme",
                "at": now - timedelta(days=1),
                "k": 5,
                "recall_at_k": 0.9,
                "mrr": 0.8,
                "samples": 50,
            },
            {"tenant_id": "acme", "at": now, "k": 5, "recall_at_k": 0.3, "mrr": 0.2, "samples": 40},
            {"tenant_id": "globex", "at": now, "k": 10, "recall_at_k": 1, "mrr": 1.0, "samples": 5},
        ]
    )
    got = await signals.latest_recall()
    assert (got["acme"].recall_at_k, got["acme"].samples, got["acme"].at) == (0.3, 40, now)
    assert (got["globex"].k, got["globex"].recall_at_k) == (10, 1.0)


async def test_the_queue_probe_counts_a_fair_endpoints_lanes_with_its_queue(vhost: str) -> None:
    fair, plain = "it.fair-work", "it.plain-work"
    connection = await aio_pika.connect(vhost)
    async with connection:
        channel = await connection.channel()
        for name in (fair, *lane_queues(fair, 8), parking_queue(fair), plain):
            await channel.declare_queue(name, durable=True)
        for name, count in ((fair, 1), (f"{fair}.s03", 4), (f"{fair}.bulk", 2), (plain, 3)):
            for _ in range(count):
                await channel.default_exchange.publish(aio_pika.Message(b"{}"), routing_key=name)
    probe = AmqpQueueProbe(vhost, fair_shards=8)
    try:
        got = await probe.read([fair, plain, "it.absent"])
    finally:
        await probe.close()
    assert got[fair] == (True, 7, 0, 0)  # 1 + 4 + 2 ready, an empty parking lot
    assert got[plain] == (True, 3, 0, None)  # no lanes, no parking lot
    assert got["it.absent"] == (False, 0, 0, None)
