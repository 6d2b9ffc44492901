"""What deleting and reindexing a document do, apart from HTTP.

Delete, in the order that leaves no citation after a crash anywhere:
1. the tombstone (every reader filters it; writers check it, so nothing is resurrected);
2. the document's live tasks are cancelled (their remaining batches are skipped);
3. `omnirag.document.deleted.v1`: every dealbrain and shadowhunter replica drops the
   document from memory, and omnirag-ingest purges its chunks, vectors and blob.
The request returns after step 3; a failed publish is a 503 and the delete may be retried
(a deleted document is announced again). Readers stop citing it when their replica has
consumed the event: the bound is the event's propagation.

Reindex: a new ingest task for the same document id from its stored source; the new
version replaces the live one atomically when its last embed batch lands."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from tradebus_contracts import DocumentDeleted, IngestDocument, TaskStatus
from tradebus_messaging import Bus, PublishError
from tradebus_storage import (
    TERMINAL,
    DocumentCatalog,
    DocumentRecord,
    Task,
    TaskRepository,
    new_task_id,
)

from .submission import INGEST_KIND, submit_ingest

log = structlog.get_logger(__name__)


class NotFound(LookupError):
    pass


class Busy(RuntimeError):
    """A task is still building a version of the document."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} is still ingesting this document")
        self.task_id = task_id


class NoSource(RuntimeError):
    pass


def deleted_message_id(document_id: str) -> str:
    """One per document: a repeated announcement (a retried delete) is recognisably one."""
    return f"{document_id}.deleted"


async def delete_document(
    *, catalog: DocumentCatalog, tasks: TaskRepository, bus: Bus, tenant_id: str, document_id: str
) -> DocumentRecord:
    """Raises NotFound (unknown, or another tenant's) and PublishError (tombstone set,
    announcement not out: retry the delete)."""
    record = await catalog.mark_deleted(tenant_id, document_id)
    task_ids = [] if record is None else record.task_ids
    if record is None:
        # Submitted, not yet written by its ingestion: the tombstone goes first, so a
        # worker starting it now drops it; its task is cancelled with the rest.
        unstarted = await tasks.latest_for_document(tenant_id, INGEST_KIND, document_id)
        if unstarted is None:
            raise NotFound(document_id)
        command = unstarted.params.get("command") or {}
        await catalog.tombstone_unstarted(
            tenant_id,
            document_id,
            title=str(command.get("title") or ""),
            source=dict(command.get("source") or {}),
            metadata=dict(command.get("metadata") or {}),
        )
        record = await catalog.mark_deleted(tenant_id, document_id)
        if record is None:  # the tombstone, or the worker's record, is there by now
            raise NotFound(document_id)
        task_ids = list(dict.fromkeys([*record.task_ids, unstarted.id]))
    for task_id in task_ids:
        await _cancel(bus, tasks, tenant_id, task_id)
    await bus.publish(
        DocumentDeleted(
            tenant_id=tenant_id,
            document_id=document_id,
            deleted_at=record.deleted_at or datetime.now(UTC),
            chunk_count=record.chunk_count,
        ),
        tenant_id=tenant_id,
        message_id=deleted_message_id(document_id),
    )
    log.info("document deleted", tenant_id=tenant_id, document_id=document_id)
    return record


async def _cancel(bus: Bus, tasks: TaskRepository, tenant_id: str, task_id: str) -> None:
    task = await tasks.get(tenant_id, task_id)
    if task is None or task.status in TERMINAL:
        return
    cancelled = await tasks.transition(tenant_id, task_id, TaskStatus.CANCELLED)
    if cancelled is None:
        return  # ended meanwhile; a late batch still finds the tombstone
    try:
        await bus.publish(cancelled.status_event(task.status), tenant_id=tenant_id)
    except PublishError as exc:  # the state is recorded; the event is best effort
        log.warning("task event not published", task_id=task_id, error=str(exc))


async def reindex_document(
    *,
    catalog: DocumentCatalog,
    tasks: TaskRepository,
    bus: Bus,
    tenant_id: str,
    document_id: str,
    idempotency_key: str | None,
) -> tuple[Task, bool]:
    """Raises NotFound, Busy (a task for it is still live) or NoSource (stored before
    sources were recorded)."""
    record = await catalog.get(tenant_id, document_id)
    if record is None:
        unstarted = await tasks.latest_for_document(tenant_id, INGEST_KIND, document_id)
        if unstarted is not None and unstarted.status not in TERMINAL:
            raise Busy(unstarted.id)  # submitted, its first version not started yet
        raise NotFound(document_id)
    for task_id in record.task_ids:
        task = await tasks.get(tenant_id, task_id)
        if task is not None and task.status not in TERMINAL:
            if idempotency_key is not None and task.idempotency_key == idempotency_key:
                return task, False  # the same request again
            raise Busy(task_id)
    if not record.source.get("kind"):
        raise NoSource(document_id)
    source = IngestDocument.model_validate(
        {
            "task_id": "-",
            "tenant_id": tenant_id,
            "document_id": document_id,
            "title": record.title,
            "source": record.source,
        }
    ).source
    task_id = new_task_id()
    if not await catalog.claim_reindex(tenant_id, document_id, task_id, seen=record):
        raise Busy(record.requested_task_id or "?")
    return await submit_ingest(
        tasks=tasks,
        bus=bus,
        tenant_id=tenant_id,
        title=record.title,
        source=source,
        metadata=record.metadata,
        idempotency_key=idempotency_key,
        document_id=document_id,
        task_id=task_id,
    )
