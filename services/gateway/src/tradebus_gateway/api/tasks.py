"""Task status, result, listing, cancellation and deletion. Every query is scoped by the caller's
tenant: another tenant's task is simply not found."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Path, Query, Response

from tradebus_contracts import TaskStatus
from tradebus_storage import DocumentCatalog, Task

from ..deps import State, Tenant
from ..errors import ApiError, ErrorBody, describe, responses
from . import batch_tasks
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
    responses=responses(401, 404, 422, 429, 503),
)
async def get_task(task_id: TaskId, state: State, tenant: Tenant) -> TaskOut:
    task = await _get(state, tenant.tenant_id, task_id)
    if batch_tasks.is_batch(task):
        return await batch_tasks.batch_out(state, task)
    return _out(task)


@router.get(
    "/{task_id}/result",
    response_model=TaskResult,
    summary="The result of a succeeded task",
    responses={
        **responses(401, 404, 409, 422, 429, 503),
        410: {
            "description": "The task ended without a result (failed or cancelled)",
            "model": ErrorBody,
        },
    },
)
async def get_result(task_id: TaskId, state: State, tenant: Tenant) -> TaskResult:
    task = await batch_tasks.settled(state, await _get(state, tenant.tenant_id, task_id))
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
    responses=responses(401, 404, 422, 429, 503),
)
async def list_tasks(
    state: State,
    tenant: Tenant,
    status: TaskStatus | None = None,
    kind: Annotated[str | None, Query(max_length=100, examples=["rag.ingest"])] = None,
    parent: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="Only this batch's documents."),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TaskPage:
    if parent is not None:
        await batch_tasks.parent_of(state, tenant.tenant_id, parent)
    items, next_cursor = await state.tasks.page(
        tenant.tenant_id, status=status, kind=kind, parent_id=parent, cursor=cursor, limit=limit
    )
    return TaskPage(items=[_out(t) for t in items], next_cursor=next_cursor)


@router.post(
    "/{task_id}/cancel",
    response_model=TaskOut,
    summary="Cancel a task: its unprocessed work is skipped",
    responses={
        **responses(401, 404, 422, 429, 503),
        409: describe("The task already ended otherwise", "already_finished", "task succeeded"),
    },
)
async def cancel_task(task_id: TaskId, state: State, tenant: Tenant) -> TaskOut:
    """Idempotent: cancelling a cancelled task answers it again. A batch's unfinished
    documents are all cancelled."""
    task = await _get(state, tenant.tenant_id, task_id)
    if batch_tasks.is_batch(task):
        return await batch_tasks.cancel_batch(state, task)
    if task.status is TaskStatus.CANCELLED:
        return _out(task)
    cancelled = await state.tasks.transition(tenant.tenant_id, task_id, TaskStatus.CANCELLED)
    if cancelled is None:
        current = await _get(state, tenant.tenant_id, task_id)
        if current.status is TaskStatus.CANCELLED:  # a concurrent cancel won
            return _out(current)
        raise ApiError(409, "already_finished", f"task already {current.status.value}")
    await _announce(state, cancelled, task.status)
    return _out(cancelled)


@router.delete(
    "/{task_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an ended task (succeeded, failed or cancelled) and its result",
    responses={
        204: {"description": "Deleted"},
        **responses(401, 404, 422, 429, 503),
        409: describe("The task is still live: cancel it first", "not_terminal", "task is running"),
    },
)
async def delete_task(task_id: TaskId, state: State, tenant: Tenant) -> Response:
    deleted = await state.tasks.delete_terminal(tenant.tenant_id, task_id)
    if deleted is None:
        current = await _get(state, tenant.tenant_id, task_id)  # absent: 404
        raise ApiError(
            409,
            "not_terminal",
            f"task is {current.status.value}; cancel it before deleting it",
        )
    await _discard_blob(state, deleted)
    return Response(status_code=204)


async def _discard_blob(state: State, task: Task) -> None:
    """An ended task's stored document (an upload, or inline text kept as a blob) is
    read by nobody any more, unless a live document was made from it."""
    command = task.params.get("command") or {}
    source = command.get("source") or {}
    if source.get("kind") == "upload" and source.get("blob_id"):
        blob_id = str(source["blob_id"])
        # A document made from it keeps it: a reindex reads it again.
        if await DocumentCatalog(state.db).live_blob_ids(task.tenant_id, [blob_id]):
            return
        try:
            await state.blobs.delete(blob_id)
        except Exception as exc:  # the task is gone; a leftover blob is only space
            log.warning("blob not deleted", task_id=task.id, error=str(exc))


async def _announce(state: State, task: Task, previous: TaskStatus) -> None:
    try:
        await state.bus.publish(task.status_event(previous), tenant_id=task.tenant_id)
    except Exception as exc:  # the state is recorded; the event is best effort from here
        log.warning("task event not published", task_id=task.id, error=str(exc))
