"""What the task routes do for a batch (kind `rag.batch`): settle it from its children
before answering, show its children by status, cancel every unfinished child."""

from __future__ import annotations

from tradebus_contracts import TaskStatus, TaskStatusChanged
from tradebus_storage import BATCH_KIND, BatchFlow, Task, TaskFlow

from ..errors import ApiError
from ..state import GatewayState
from .models import BatchCounts, TaskOut


def is_batch(task: Task) -> bool:
    return task.kind == BATCH_KIND


def _flow(state: GatewayState) -> BatchFlow:
    async def announce(event: TaskStatusChanged) -> None:
        await state.bus.publish(event, tenant_id=event.tenant_id)

    return BatchFlow(state.tasks, TaskFlow(state.tasks, announce))


async def settled(state: GatewayState, task: Task) -> Task:
    """A batch as its children say it is now; any other task as it is."""
    return await _flow(state).settle(task) if is_batch(task) else task


async def batch_out(state: GatewayState, task: Task) -> TaskOut:
    flow = _flow(state)
    task = await flow.settle(task)
    counts = await flow.counts(task)
    out = TaskOut.model_validate(task.model_dump())
    out.batch = BatchCounts(
        total=counts.total,
        queued=counts.queued,
        running=counts.running,
        retrying=counts.retrying,
        succeeded=counts.succeeded,
        failed=counts.failed,
        cancelled=counts.cancelled,
    )
    return out


async def cancel_batch(state: GatewayState, task: Task) -> TaskOut:
    """Idempotent: a cancelled batch is answered again; a batch that ended otherwise is
    409 (its children ended on their own), judged after settling it: a batch whose
    children all ended before anyone read it has ended too."""
    flow = _flow(state)
    task = await flow.settle(task)
    if task.status is TaskStatus.CANCELLED:
        return await batch_out(state, task)
    if task.terminal:
        raise ApiError(409, "already_finished", f"batch already {task.status.value}")
    ended = await flow.cancel(task)
    return await batch_out(state, ended)


async def parent_of(state: GatewayState, tenant_id: str, parent_id: str) -> Task:
    """The batch whose children are listed: another tenant's, or not a batch, is 404."""
    parent = await state.tasks.get(tenant_id, parent_id)
    if parent is None or not is_batch(parent):
        raise ApiError(404, "not_found", f"batch {parent_id} not found")
    return parent
