"""Documents as resources: the schemas of `GET /v1/rag/documents[/{id}]`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from tradebus_contracts import TaskStatus
from tradebus_storage import DocumentRecord, Task

from .models import METADATA_KEY_PATTERN, METADATA_VALUE_PATTERN

# `key=value`: metadata keys never hold `=`, so the first one separates them.
METADATA_FILTER_PATTERN = METADATA_KEY_PATTERN[:-1] + "=" + METADATA_VALUE_PATTERN[1:]


class DocumentStatus(StrEnum):
    QUEUED = "queued"  # accepted; its ingestion has not started (its task is queued)
    INGESTING = "ingesting"  # the first version is being built: not searchable yet
    INDEXED = "indexed"  # searchable (a reindex may be building the next version)
    FAILED = "failed"  # the first version failed: nothing searchable


class SourceOut(BaseModel):
    """Where the document came from (the text itself is not returned)."""

    kind: Literal["text", "upload", "url"]
    filename: str | None = None
    content_type: str | None = None
    url: str | None = None

    @classmethod
    def of(cls, source: Mapping[str, Any]) -> SourceOut | None:
        """A recorded source (as the ingest command holds it), or None for a kind this
        API does not describe."""
        if source.get("kind") not in ("text", "upload", "url"):
            return None
        return cls(
            kind=source["kind"],
            filename=source.get("filename"),
            content_type=source.get("content_type"),
            url=source.get("url"),
        )


class DocumentOut(BaseModel):
    id: str
    title: str
    status: DocumentStatus
    metadata: dict[str, str]
    source: SourceOut | None = Field(
        None, description="Absent for documents stored before it was recorded."
    )
    chunk_count: int = Field(..., description="Chunks of the searchable version.")
    duplicate_chunks: int = Field(..., description="Repeated chunks dropped within the document.")
    version: int = Field(
        ...,
        description="The searchable version; 0 before the first is done. Each ingest "
        "(a reindex included) is numbered, so versions grow but may skip.",
    )
    task_id: str | None = Field(None, description="The task that made the searchable version.")
    reindex_task_id: str | None = Field(
        None, description="The task building the next version, while it runs."
    )
    created_at: datetime
    updated_at: datetime
    indexed_at: datetime | None = None
    error: str | None = Field(None, description="Why the latest ingest failed, if it did.")

    @classmethod
    def of(cls, record: DocumentRecord) -> DocumentOut:
        source = record.source
        return cls(
            id=record.id,
            title=record.title,
            status=DocumentStatus(record.status),
            metadata=record.metadata,
            source=SourceOut.of(source),
            chunk_count=record.chunk_count,
            duplicate_chunks=record.duplicate_chunks,
            version=record.version,
            task_id=record.task_id,
            reindex_task_id=record.pending_task_id,
            created_at=record.created_at,
            updated_at=record.updated_at,
            indexed_at=record.indexed_at,
            error=record.error,
        )

    @classmethod
    def unstarted(cls, task: Task) -> DocumentOut:
        """A document its ingestion has not written yet, as its task's command says."""
        command = task.params.get("command") or {}
        source = command.get("source") or {}
        status = _UNSTARTED.get(task.status, DocumentStatus.FAILED)
        return cls(
            id=str(command.get("document_id", "")),
            title=str(command.get("title") or ""),
            status=status,
            metadata=dict(command.get("metadata") or {}),
            source=SourceOut.of(source),
            chunk_count=0,
            duplicate_chunks=0,
            version=0,
            reindex_task_id=task.id,
            created_at=task.created_at,
            updated_at=task.updated_at,
            error=(
                (task.error.message if task.error else task.status.value)
                if status is DocumentStatus.FAILED
                else None
            ),
        )


# A task that ended before writing its document leaves a document that failed.
_UNSTARTED = {
    TaskStatus.QUEUED: DocumentStatus.QUEUED,
    TaskStatus.RETRYING: DocumentStatus.QUEUED,
    TaskStatus.RUNNING: DocumentStatus.INGESTING,
}


class DocumentPage(BaseModel):
    items: list[DocumentOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")
