"""What the operator task routes answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from tradebus_contracts import Progress, TaskError, TaskStatus
from tradebus_storage import REVIVABLE_CODES, Task


class OperatorTask(BaseModel):
    id: str
    tenant_id: str
    kind: str = Field(..., examples=["rag.ingest"])
    status: TaskStatus
    progress: Progress | None = None
    created_at: datetime
    updated_at: datetime
    error: TaskError | None = None
    attempts: int = 0
    revivals: int = Field(0, description="Times a replay brought the task back.")
    revivable: bool = Field(
        False, description="Failed by a fault (its message was parked): a replay revives it."
    )

    @classmethod
    def of(cls, task: Task) -> OperatorTask:
        return cls(
            id=task.id,
            tenant_id=task.tenant_id,
            kind=task.kind,
            status=task.status,
            progress=task.progress,
            created_at=task.created_at,
            updated_at=task.updated_at,
            error=task.error,
            attempts=task.attempts,
            revivals=task.revivals,
            revivable=task.status is TaskStatus.FAILED
            and (
                task.fault is not None
                or (task.error is not None and task.error.code in REVIVABLE_CODES)
            ),
        )


class HistoryEntry(BaseModel):
    at: datetime
    status: str
    reason: str | None = None
    message: str | None = None


class OperatorTaskDetail(OperatorTask):
    history: list[HistoryEntry]
    result: dict[str, Any] | None = None

    @classmethod
    def detail(cls, task: Task) -> OperatorTaskDetail:
        return cls(
            **OperatorTask.of(task).model_dump(),
            history=[_entry(h) for h in task.history],
            result=task.result,
        )


def _entry(raw: dict[str, Any]) -> HistoryEntry:
    error = raw.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    return HistoryEntry(
        at=raw["at"],
        status=str(raw.get("to") or ""),
        reason=raw.get("reason"),
        message=None if message is None else str(message),
    )


class OperatorTaskPage(BaseModel):
    items: list[OperatorTask]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")
