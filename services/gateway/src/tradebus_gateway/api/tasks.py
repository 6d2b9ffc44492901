"""Task status, result, listing and cancellation. Every query is scoped by the caller's
tenant: another tenant's task is simply not found."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Path, Query

from tradebus_contracts import TaskStatus
from tradebus_storage import Task

from ..deps import State, Tenant
from ..errors import ApiError, ErrorBody, responses
from .models import TaskOut, TaskPage, TaskResult

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/tasks", tags=["tasks"])

TaskId = Annotated[str, Path(min_length=1, max_length=64, description="The task id.")]


def _out(task: Task) -> TaskOut:
    return TaskOut.model_validate(task.model_dump())


async def _get(state: State, tenant_id: str, task_id: str) -> Task:
    task = await state.tasks.get(tenant_id, task_id)
    if task is None:
        raise ApiError(404, "not_found", f"task {task_id} not found")
    return task


@router.get(
    "/{task_id}",
    response_model=TaskOut,
    summary="Task status and progress",
    responses=responses(401, 404, 429),
)
async def get_task(task_id: TaskId, state: State, tenant: Tenant) -> TaskOut:
    return _out(await _get(state, tenant.tenant_id, task_id))


@router.get(
    "/{task_id}/result",
    response_model=TaskResult,
    summary="The result of a succeeded task",
    responses={
        **responses(401, 404, 409, 429),
        410: {
            "description": "The task ended without a result (failed or cancelled)",
            "model": ErrorBody,
        },
    },
)
async def get_result(task_id: TaskId, state: State, tenant: Tenant) -> TaskResult:
    task = await _get(state, tenant.tenant_id, task_id)
    if task.status is TaskStatus.SUCCEEDED and task.result is not None:
        return TaskResult(task_id=task.id, result=task.result)
    if task.status in (TaskStatus.FAILED, TaskStatus.CANCELLED):
        reason = f": {task.error.message}" if task.error else ""
        raise ApiError(410, "no_result", f"task {task.status.value}{reason}")
    raise ApiError(409, "not_ready", f"task is {task.status.value}; retry when it has succeeded")


@router.get(
    "",
    response_model=TaskPage,
    summary="List the tenant's tasks, newest first",
    responses=responses(401, 422, 429),
)
async def list_tasks(
    state: State,
    tenant: Tenant,
    status: TaskStatus | None = None,
    kind: Annotated[str | None, Query(max_length=100, examples=["rag.ingest"])] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TaskPage:
    items, next_cursor = await state.tasks.page(
        tenant.tenant_id, status=status, kind=kind, cursor=cursor, limit=limit
    )
    return TaskPage(items=[_out(t) for t in items], next_cursor=next_cursor)


@router.delete(
    "/{task_id}",
    response_model=TaskOut,
    summary="Cancel a task: its unprocessed work is skipped",
    responses={
        **responses(401, 404, 429),
        409: {"description": "The task already ended", "model": ErrorBody},
    },
)
async def cancel_task(task_id: TaskId, state: State, tenant: Tenant) -> TaskOut:
    task = await _get(state, tenant.tenant_id, task_id)
    if task.status is TaskStatus.CANCELLED:
        return _out(task)
    cancelled = await state.tasks.transition(tenant.tenant_id, task_id, TaskStatus.CANCELLED)
    if cancelled is None:
        current = await _get(state, tenant.tenant_id, task_id)
        raise ApiError(409, "already_finished", f"task already {current.status.value}")
    await _announce(state, cancelled, task.status)
    return _out(cancelled)


async def _announce(state: State, task: Task, previous: TaskStatus) -> None:
    try:
        await state.bus.publish(task.status_event(previous), tenant_id=task.tenant_id)
    except Exception as exc:  # the state is recorded; the event is best effort from here
        log.warning("task event not published", task_id=task.id, error=str(exc))
