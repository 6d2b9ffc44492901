"""A batch parent's status, derived from its children and never set by a worker.

`settle` recounts the children and moves the parent by compare-and-set: `running` once
any child has started, then, when every child has ended, `failed` if any child failed,
else `cancelled` if any was cancelled, else `succeeded`; the result holds the counts
either way. It runs on every read of the parent, after a cancel, and on every watchdog
pass, so a parent never waits on an event that was lost. Each move is announced like any
task's (`task.status.changed.v1`, kind `rag.batch`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tradebus_contracts import TaskError, TaskStatus

from .task_batches import ChildCounts
from .task_flow import TaskFlow
from .tasks import Task, TaskRepository

S = TaskStatus
FAILED_CODE = "documents_failed"
# Children moved at once by a cancel or an expiry: bounded, so a 500-document batch
# does not open 500 database operations together.
CHILD_CONCURRENCY = 16


class BatchFlow:
    def __init__(self, tasks: TaskRepository, flow: TaskFlow) -> None:
        self._tasks, self._flow = tasks, flow

    async def counts(self, parent: Task) -> ChildCounts:
        return await self._tasks.child_counts(parent)

    async def settle(self, parent: Task) -> Task:
        """The parent as its children say it is now (unchanged when it already ended)."""
        if parent.terminal:
            return parent
        counts = await self._tasks.child_counts(parent)
        outcome = counts.outcome()
        current = parent
        if current.status is S.QUEUED and (counts.started or outcome is S.SUCCEEDED):
            # queued -> succeeded is no transition: a finished batch passes through running
            moved = await self._flow.move(
                parent.tenant_id,
                parent.id,
                S.RUNNING,
                previous=S.QUEUED,
                progress=_progress(counts),
            )
            current = moved or await self._reread(parent)
            if current.terminal:
                return current
        if outcome is not None:
            fields: dict[str, object] = {"progress": _progress(counts), "result": counts.result()}
            if outcome is S.FAILED:
                message = f"{counts.failed} of {counts.total} documents failed"
                fields["error"] = TaskError(code=FAILED_CODE, message=message).model_dump()
            moved = await self._flow.move(
                parent.tenant_id, parent.id, outcome, previous=current.status, **fields
            )
            return moved or await self._reread(parent)
        if current.progress.done != counts.done:
            current = await self._tasks.set_batch_progress(current, counts.done) or current
        return current

    async def cancel(self, parent: Task) -> Task:
        """Cancel every unfinished child (each announced), then settle the parent."""
        await self._each_unfinished(
            parent, lambda child: self._flow.move(child.tenant_id, child.id, S.CANCELLED)
        )
        return await self.settle(await self._reread(parent))

    async def expire(self, parent: Task, code: str, message: str) -> Task:
        """Past the batch's deadline: its unfinished children fail with `code`, and the
        parent settles with the counts."""
        await self._each_unfinished(
            parent, lambda child: self._flow.fail(child.tenant_id, child.id, code, message)
        )
        return await self.settle(await self._reread(parent))

    async def _each_unfinished(
        self, parent: Task, act: Callable[[Task], Awaitable[Task | None]]
    ) -> None:
        gate = asyncio.Semaphore(CHILD_CONCURRENCY)

        async def one(child: Task) -> None:
            async with gate:
                await act(child)  # a child that ended meanwhile stays as it ended

        children = await self._tasks.unfinished_children(parent.tenant_id, parent.id)
        await asyncio.gather(*(one(c) for c in children))

    async def _reread(self, parent: Task) -> Task:
        return await self._tasks.get(parent.tenant_id, parent.id) or parent


def _progress(counts: ChildCounts) -> dict[str, int]:
    return {"done": counts.done, "total": counts.total}
