"""Request and response bodies of the public API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, HttpUrl, model_validator

from tradebus_contracts import Progress, TaskError, TaskStatus


class DocumentIn(BaseModel):
    """A document given inline (`text`) or by address (`url`); exactly one of them."""

    title: str = Field(..., min_length=1, max_length=500, examples=["Incoterms 2020 overview"])
    text: str | None = Field(None, min_length=1, examples=["FOB: the seller delivers..."])
    url: HttpUrl | None = Field(None, examples=["https://example.com/terms.html"])
    metadata: dict[str, str] = Field(default_factory=dict, examples=[{"region": "EU"}])

    @model_validator(mode="after")
    def _one_source(self) -> DocumentIn:
        if (self.text is None) == (self.url is None):
            raise ValueError("give exactly one of `text` or `url`")
        return self


class TaskAccepted(BaseModel):
    task_id: str = Field(..., examples=["0193a1b2c3d4e5f60718293a4b5c6d7e"])
    status: TaskStatus
    document_id: str | None = None
    created: bool = Field(..., description="False when an Idempotency-Key matched a task.")


class TaskOut(BaseModel):
    id: str
    kind: str = Field(..., examples=["rag.ingest"])
    status: TaskStatus
    progress: Progress
    attempts: int
    error: TaskError | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    expires_at: datetime | None = Field(None, description="When the result stops being kept.")


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


class TaskResult(BaseModel):
    task_id: str
    result: dict[str, Any] = Field(
        ..., examples=[{"document_id": "d1", "chunk_count": 42, "duplicate_chunks": 3}]
    )
