"""A task always ends: a `message faulted` event about a task's message, published on the
broker like any service's bus does when it parks a message, fails the task in the
running gateway with the fault's reason; repeats and finished tasks are left alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tradebus_contracts import REGISTRY
from tradebus_contracts import TaskStatus as S
from tradebus_contracts.faults import MessageFaulted
from tradebus_messaging import Bus

from .conftest import bus_settings

pytestmark = pytest.mark.integration


def faulted(task_id: str, *, reason: str = "retries_exhausted", **values) -> MessageFaulted:
    now = datetime.now(UTC)
    return MessageFaulted(
        **{
            "message_id": f"{task_id}.embed.3",
            "faulted_type": "omnirag.chunks.embed.v1",
            "queue": "omnirag-embed.embed",
            "service": "omnirag-embed",
            "host": "worker-1",
            "exception_type": "EmbeddingUnavailable",
            "exception_message": "HTTP 503 from the embedding API",
            "attempts": 5,
            "original_exchange": "tradebus.commands",
            "original_routing_key": "omnirag.chunks.embed.v1",
            "first_failure_at": now,
            "last_failure_at": now,
            "reason": reason,
            "tenant_id": "acme",
            "task_id": task_id,
            **values,
        }
    )


async def test_a_parked_messages_task_fails_with_the_fault_reason(make_gateway, vhost) -> None:
    gateway = await make_gateway()
    tasks = gateway.state.tasks
    running, _ = await tasks.create(tenant_id="acme", kind="rag.ingest")
    await tasks.transition("acme", running.id, S.RUNNING)
    succeeded, _ = await tasks.create(tenant_id="acme", kind="rag.ingest")
    await tasks.transition("acme", succeeded.id, S.RUNNING)
    await tasks.transition("acme", succeeded.id, S.SUCCEEDED)
    foreign, _ = await tasks.create(tenant_id="globex", kind="rag.ingest")
    other_service = Bus(bus_settings(vhost, service="omnirag-embed"), registry=REGISTRY)
    await other_service.start()
    try:
        await other_service.publish(faulted(succeeded.id), tenant_id="acme")
        await other_service.publish(faulted(foreign.id), tenant_id="acme")  # not acme's task
        await other_service.publish(faulted("no-such-task"), tenant_id="acme")
        await other_service.publish(faulted(running.id), tenant_id="acme")
        async with asyncio.timeout(10):
            while (await tasks.get("acme", running.id)).status is not S.FAILED:
                await asyncio.sleep(0.05)
        # At-least-once: the same fault again (or a later one) changes nothing.
        await other_service.publish(faulted(running.id, reason="timeout"), tenant_id="acme")
        await asyncio.sleep(0.5)
    finally:
        await other_service.stop()
    failed = await tasks.get("acme", running.id)
    assert failed.error.code == "retries_exhausted"
    assert [h["to"] for h in failed.history].count("failed") == 1
    assert failed.error.message.startswith("EmbeddingUnavailable: HTTP 503")
    assert "omnirag-embed.embed.dlq" in failed.error.message
    assert failed.fault["message_id"] == f"{running.id}.embed.3"
    assert (await tasks.get("acme", succeeded.id)).status is S.SUCCEEDED
    assert (await tasks.get("globex", foreign.id)).status is S.QUEUED
