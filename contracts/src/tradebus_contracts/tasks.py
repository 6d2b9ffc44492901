"""Task lifecycle events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, Field

from ._base import Contract, MessageKind


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Progress(BaseModel):
    done: int = Field(0, ge=0, description="Units of work finished.")
    total: int | None = Field(None, ge=0, description="Units of work in all, once known.")


class TaskError(BaseModel):
    code: str = Field(..., description="Stable machine-readable code.", examples=["corrupt_pdf"])
    message: str = Field(..., description="What went wrong, for a person.")


class TaskStatusChanged(Contract):
    """A task moved from one status to another (published by whoever moved it)."""

    message_type: ClassVar[str] = "task.status.changed.v1"
    kind: ClassVar[MessageKind] = MessageKind.EVENT

    task_id: str
    tenant_id: str
    task_kind: str = Field(..., description="What the task does.", examples=["rag.ingest"])
    status: TaskStatus
    previous_status: TaskStatus | None = None
    progress: Progress = Field(default_factory=Progress)
    error: TaskError | None = None
    occurred_at: datetime
