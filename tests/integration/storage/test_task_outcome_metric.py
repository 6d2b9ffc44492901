"""Task outcomes are counted once per terminal transition, where it is recorded."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY

from tradebus_contracts import TaskStatus
from tradebus_storage import TaskRepository


def finished(kind: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "tradebus_tasks_finished_total", {"kind": kind, "status": status}
    )
    return value or 0.0


async def test_terminal_transitions_count_once_by_kind_and_status(mongo: Any, unique: str) -> None:
    _, db = mongo
    tasks = TaskRepository(db)
    kind = f"it.metric.{unique}"
    ok, _ = await tasks.create(tenant_id="t1", kind=kind)
    bad, _ = await tasks.create(tenant_id="t1", kind=kind)

    assert await tasks.transition("t1", ok.id, TaskStatus.RUNNING) is not None
    assert finished(kind, "succeeded") == 0  # running is not an outcome
    assert await tasks.transition("t1", ok.id, TaskStatus.SUCCEEDED) is not None
    # A duplicate delivery finishing it again moves nothing, so counts nothing.
    assert await tasks.transition("t1", ok.id, TaskStatus.SUCCEEDED) is None
    assert await tasks.fail("t1", bad.id, "boom", "it broke") is not None

    assert finished(kind, "succeeded") == 1
    assert finished(kind, "failed") == 1
