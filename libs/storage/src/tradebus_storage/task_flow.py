"""Moving a task through its states from a worker, announcing every change.

The announcement is a callable (the handler's `ctx.publish`) so this module needs no
messaging import; the event follows the state write, so a crash in between loses only an
event, never the state (readers poll the task; events are for subscribers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from tradebus_contracts import TaskError, TaskStatus, TaskStatusChanged

from .tasks import TERMINAL, Task, TaskRepository

log = structlog.get_logger(__name__)

Announce = Callable[[TaskStatusChanged], Awaitable[Any]]


class TaskFlow:
    def __init__(self, tasks: TaskRepository, announce: Announce) -> None:
        self._tasks = tasks
        self._announce = announce

    async def move(
        self,
        tenant_id: str,
        task_id: str,
        target: TaskStatus,
        *,
        previous: TaskStatus | None = None,
        **fields: Any,
    ) -> Task | None:
        """`previous`, when the caller knows it, saves a read (it only labels the event;
        the compare-and-set decides)."""
        if previous is None:
            before = await self._tasks.get(tenant_id, task_id)
            if before is None:
                return None
            previous = before.status
        moved = await self._tasks.transition(tenant_id, task_id, target, **fields)
        if moved is not None:
            await self._say(moved, previous)
        return moved

    async def start(self, tenant_id: str, task_id: str, *, replayed: bool = False) -> Task | None:
        """queued/retrying → running; a task already running (a redelivery after a crash)
        continues; None when the task is gone or finished (cancelled included).

        `replayed` (the message came back from the parking lot): a task that failed by
        a fault is revived first (failed → queued → running), so the replay can still
        succeed; any other finished task stays finished."""
        task = await self._tasks.get(tenant_id, task_id)
        if task is not None and task.status is TaskStatus.FAILED and replayed:
            task = await self.revive(tenant_id, task_id, "message replayed from the parking lot")
        if task is None or task.status in TERMINAL:
            return None
        if task.status is TaskStatus.RUNNING:
            return task
        return await self.move(tenant_id, task_id, TaskStatus.RUNNING) or await self._running(
            tenant_id, task_id
        )

    async def _running(self, tenant_id: str, task_id: str) -> Task | None:
        # Lost a race with another delivery that started it: fine if it is running.
        task = await self._tasks.get(tenant_id, task_id)
        return task if task is not None and task.status is TaskStatus.RUNNING else None

    async def revive(self, tenant_id: str, task_id: str, reason: str) -> Task | None:
        """failed → queued when the failure was a fault (see TaskRepository.revive)."""
        revived = await self._tasks.revive(tenant_id, task_id, reason)
        if revived is None:
            log.info("task not revived: not failed by a fault", task_id=task_id)
            return None
        log.info("task revived", task_id=task_id, reason=reason)
        await self._say(revived, TaskStatus.FAILED)
        return revived

    async def fail(
        self, tenant_id: str, task_id: str, code: str, message: str, **fields: Any
    ) -> Task | None:
        error = TaskError(code=code, message=message[:2000])
        return await self.move(
            tenant_id, task_id, TaskStatus.FAILED, error=error.model_dump(), **fields
        )

    async def fault(
        self, tenant_id: str, task_id: str, code: str, message: str, fault: dict[str, Any]
    ) -> Task | None:
        """The task's message was parked: fail the task with `code`, or, when it had
        already failed (its handler gave up first, with a code of its own), record the
        fault so a replay may revive it. Idempotent; None when nothing moved."""
        failed = await self.fail(tenant_id, task_id, code, message, fault=fault)
        if failed is None:
            await self._tasks.record_fault(tenant_id, task_id, fault)
        return failed

    async def succeed(
        self,
        tenant_id: str,
        task_id: str,
        result: dict[str, Any],
        *,
        previous: TaskStatus | None = None,
    ) -> Task | None:
        return await self.move(
            tenant_id, task_id, TaskStatus.SUCCEEDED, previous=previous, result=result
        )

    async def after_failure(
        self,
        tenant_id: str,
        task_id: str,
        exc: Exception,
        *,
        permanent: bool,
        last_attempt: bool,
        code: str,
    ) -> None:
        """A handler failed: the task fails when the message will be parked (permanent
        error or last attempt), else it is `retrying` until the delayed retry runs."""
        if permanent or last_attempt:
            await self.fail(tenant_id, task_id, code, f"{type(exc).__name__}: {exc}")
        else:
            await self.move(tenant_id, task_id, TaskStatus.RETRYING)

    async def _say(self, task: Task, previous: TaskStatus) -> None:
        try:
            await self._announce(task.status_event(previous))
        except Exception as exc:
            log.warning("task event not published", task_id=task.id, error=str(exc))
