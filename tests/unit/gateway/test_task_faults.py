"""The task-fault handler's decisions, with an in-memory stand-in for the repository."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tradebus_contracts import TaskStatus as S
from tradebus_contracts.faults import MessageFaulted
from tradebus_gateway.task_faults import TaskFaultHandler, describe
from tradebus_storage import TERMINAL, Task


class FakeTasks:
    """get / transition / record_fault, compare-and-set like the real one."""

    def __init__(self, *tasks: Task) -> None:
        self.tasks = {(t.tenant_id, t.id): t for t in tasks}
        self.faults: list[str] = []

    async def get(self, tenant_id: str, task_id: str) -> Task | None:
        return self.tasks.get((tenant_id, task_id))

    async def transition(self, tenant_id: str, task_id: str, target: S, **fields: Any):
        task = self.tasks.get((tenant_id, task_id))
        if task is None or task.status in TERMINAL:
            return None
        moved = Task.model_validate({**task.model_dump(), "status": target, **fields})
        self.tasks[(tenant_id, task_id)] = moved
        return self.tasks[(tenant_id, task_id)]

    async def record_fault(self, tenant_id: str, task_id: str, fault: dict[str, Any]) -> bool:
        self.faults.append(task_id)
        return True


class Ctx:
    def __init__(self) -> None:
        self.published: list[Any] = []

    async def publish(self, payload: Any, **_: Any) -> None:
        self.published.append(payload)


def task(task_id: str, status: S = S.RUNNING, tenant: str = "acme") -> Task:
    now = datetime.now(UTC)
    return Task(
        id=task_id,
        tenant_id=tenant,
        kind="rag.ingest",
        status=status,
        created_at=now,
        updated_at=now,
    )


def event(**values: Any) -> MessageFaulted:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "message_id": "m-1",
        "faulted_type": "omnirag.document.ingest.v1",
        "queue": "omnirag-ingest.ingest",
        "service": "omnirag-ingest",
        "host": "h",
        "exception_type": "ValueError",
        "exception_message": "bad title",
        "attempts": 1,
        "original_exchange": "tradebus.commands",
        "original_routing_key": "omnirag.document.ingest.v1",
        "first_failure_at": now,
        "last_failure_at": now,
        "reason": "permanent",
        "tenant_id": "acme",
        "task_id": "t-1",
    }
    return MessageFaulted(**{**base, **values})


def test_the_message_names_the_exception_the_queue_and_the_reason() -> None:
    text = describe(event(reason="delivery_limit", attempts=21))
    assert text.startswith("ValueError: bad title (message m-1 parked in")
    assert "omnirag-ingest.ingest.dlq" in text and "21 attempt(s)" in text
    assert "kept crashing its consumer" in text


async def test_fails_a_live_task_with_the_reason_and_announces_it() -> None:
    tasks, ctx = FakeTasks(task("t-1")), Ctx()
    await TaskFaultHandler(tasks)(event(), ctx)  # type: ignore[arg-type]
    failed = tasks.tasks[("acme", "t-1")]
    assert failed.status is S.FAILED and failed.error.code == "permanent"
    assert failed.fault["message_id"] == "m-1"
    assert [(e.previous_status, e.status) for e in ctx.published] == [(S.RUNNING, S.FAILED)]


async def test_a_finished_task_is_left_alone_but_the_fault_noted() -> None:
    tasks, ctx = FakeTasks(task("t-1", S.SUCCEEDED)), Ctx()
    await TaskFaultHandler(tasks)(event(), ctx)  # type: ignore[arg-type]
    assert tasks.tasks[("acme", "t-1")].status is S.SUCCEEDED and not ctx.published
    assert tasks.faults == ["t-1"]  # (the real repository records it on failed tasks only)


async def test_events_without_a_task_or_tenant_or_about_faults_are_ignored() -> None:
    tasks, ctx = FakeTasks(task("t-1")), Ctx()
    handler = TaskFaultHandler(tasks)  # type: ignore[arg-type]
    await handler(event(task_id=None), ctx)  # type: ignore[arg-type]
    await handler(event(tenant_id=None), ctx)  # type: ignore[arg-type]
    await handler(event(tenant_id="globex"), ctx)  # type: ignore[arg-type]
    await handler(event(faulted_type=MessageFaulted.message_type), ctx)  # type: ignore[arg-type]
    assert tasks.tasks[("acme", "t-1")].status is S.RUNNING and not ctx.published
