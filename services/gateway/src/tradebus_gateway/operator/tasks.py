"""Tasks of every tenant: list with filters, one task with its history, cancel."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Path, Query

from tradebus_contracts import TaskStatus
from tradebus_storage import TERMINAL
from tradebus_storage.task_search import TaskFilter, TaskSearch

from ..api.models import IsoDateTime
from ..deps import Operator, State
from ..errors import ApiError, describe
from .access import Act, audited, operator_responses
from .paging import Cursor, Limit, after_of, next_cursor
from .task_models import OperatorTask, OperatorTaskDetail, OperatorTaskPage

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/tasks")

TaskId = Annotated[str, Path(min_length=1, max_length=64, description="The task id.")]
Text = Annotated[str | None, Query(min_length=1, max_length=100)]


@router.get(
    "",
    response_model=OperatorTaskPage,
    summary="Tasks of every tenant, newest first",
    responses=operator_responses(422, 429, 503),
)
async def list_tasks(
    state: State,
    _: Operator,
    tenant: Text = None,
    kind: Text = None,
    status: TaskStatus | None = None,
    created_after: Annotated[
        IsoDateTime | None, Query(description="Created after (ISO 8601).")
    ] = None,
    created_before: Annotated[
        IsoDateTime | None, Query(description="Created before (ISO 8601).")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OperatorTaskPage:
    filters = TaskFilter(tenant, kind, status, created_after, created_before)
    tasks, last = await TaskSearch(state.db).page(filters, after=after_of(cursor), limit=limit)
    return OperatorTaskPage(
        items=[OperatorTask.of(t) for t in tasks], next_cursor=next_cursor(last)
    )


@router.get(
    "/{task_id}",
    response_model=OperatorTaskDetail,
    summary="One task of any tenant, with its status history and result",
    responses=operator_responses(404, 422, 429, 503),
)
async def get_task(task_id: TaskId, state: State, _: Operator) -> OperatorTaskDetail:
    task = await TaskSearch(state.db).get(task_id)
    if task is None:
        raise ApiError(404, "not_found", f"task {task_id} not found")
    return OperatorTaskDetail.detail(task)


@router.post(
    "/{task_id}/cancel",
    status_code=202,
    response_model=OperatorTask,
    summary="Cancel a task of any tenant: its unprocessed work is skipped",
    responses={
        **operator_responses(404, 422, 429, 503),
        409: describe("The task already ended", "already_finished", "task already succeeded"),
    },
)
async def cancel_task(
    task_id: TaskId, state: State, act: Annotated[Act, Depends(audited("task.cancel"))]
) -> OperatorTask:
    async with act.attempt(task_id) as details:
        task = await TaskSearch(state.db).get(task_id)
        if task is None:
            raise ApiError(404, "not_found", f"task {task_id} not found")
        details["tenant_id"] = task.tenant_id
        if task.status in TERMINAL:
            raise ApiError(409, "already_finished", f"task already {task.status.value}")
        cancelled = await state.tasks.transition(
            task.tenant_id, task_id, TaskStatus.CANCELLED, reason="cancelled by an operator"
        )
        if cancelled is None:  # it ended in the meantime
            current = await TaskSearch(state.db).get(task_id)
            ended = current.status.value if current else "deleted"
            raise ApiError(409, "already_finished", f"task already {ended}")
        details["previous_status"] = task.status.value
    try:
        await state.bus.publish(cancelled.status_event(task.status), tenant_id=task.tenant_id)
    except Exception as exc:  # recorded; the event is best effort from here
        log.warning("task event not published", task_id=task_id, error=str(exc))
    return OperatorTask.of(cancelled)
