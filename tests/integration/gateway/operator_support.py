"""A worker in the test's vhost whose messages fail permanently while `broken`, so the
operator tests have real parked messages (parked by the runtime, faults recorded on
their tasks by the gateway) to list, replay and purge."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.support.contracts import DoWork, make_registry
from tradebus_messaging import Bus, BusSettings, MessageContext, PermanentError
from tradebus_storage import TaskFlow, TaskRepository


class Worker:
    """Starts the message's task (reviving it when the message was replayed), then,
    while `broken`, fails: transiently for a message with `fail_times` (parked once its
    retries are exhausted), for good otherwise. Once mended it succeeds the task."""

    def __init__(self, tasks: TaskRepository) -> None:
        self.broken = True
        self.done: list[str] = []
        self._tasks = tasks

    async def __call__(self, msg: DoWork, ctx: MessageContext) -> None:
        flow = TaskFlow(self._tasks, ctx.publish)
        tenant, task_id = ctx.envelope.tenant_id, ctx.envelope.task_id
        if tenant and task_id and await flow.start(tenant, task_id, replayed=ctx.replayed) is None:
            return
        if self.broken and msg.fail_times:
            raise RuntimeError(f"transient failure of {msg.key}")  # retried, then parked
        if self.broken or msg.permanent:
            raise PermanentError(f"cannot do {msg.key}")
        if tenant and task_id:
            await flow.succeed(tenant, task_id, result={"key": msg.key})
        self.done.append(msg.key)


def worker_bus(vhost: str, queue_prefix: str) -> Bus:
    settings = BusSettings.model_validate(
        {
            "RABBITMQ_URL": vhost,
            "service": queue_prefix,
            "retry_base_seconds": 1,
            "max_attempts": 2,
            "shutdown_grace_seconds": 1,
        }
    )
    return Bus(settings, registry=make_registry())


async def eventually(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll `predicate` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)
