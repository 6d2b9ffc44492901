"""A document's embed batches and the task that counts them.

Each batch is counted once (by its index, in the task's `done_units`), so the delivery
that brings `done` to `batch_count` is the one that completes the document, however
often any batch is redelivered."""

from __future__ import annotations

from typing import Any

from tradebus_contracts import TaskStatus

# A batch of a task in these states is not embedded: cancelled or finished already.
SKIP = frozenset({TaskStatus.CANCELLED, TaskStatus.FAILED, TaskStatus.SUCCEEDED})


def batch_is_runnable(status: TaskStatus | None) -> bool:
    return status is not None and status not in SKIP


def document_complete(status: TaskStatus, done: int, batch_count: int) -> bool:
    """Every batch counted and the task neither cancelled nor failed meanwhile."""
    return done >= batch_count and status not in (TaskStatus.CANCELLED, TaskStatus.FAILED)


def indexed_message_id(task_id: str) -> str:
    """The same id omnirag-ingest uses for an empty document's event: one per task."""
    return f"{task_id}.indexed"


def indexed_result(document_id: str, document: dict[str, Any], *, model: str) -> dict[str, Any]:
    return {
        "document_id": document_id,
        "title": str(document.get("title", "")),
        "chunk_count": int(document.get("chunk_count", 0)),
        "duplicate_chunks": int(document.get("duplicate_chunks", 0)),
        "embedding_model": model,
    }
