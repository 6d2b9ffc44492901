"""Ingest submission: record the task, then publish the command. The task write comes
first so a crash in between leaves a queued, unpublished task for the watchdog,
never a message about a task nobody recorded."""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from tradebus_contracts import IngestDocument, TextSource, UploadSource, UrlSource
from tradebus_messaging import Bus, PublishError
from tradebus_storage import Task, TaskRepository, new_task_id

log = structlog.get_logger(__name__)

INGEST_KIND = "rag.ingest"


async def submit_ingest(
    *,
    tasks: TaskRepository,
    bus: Bus,
    tenant_id: str,
    title: str,
    source: TextSource | UploadSource | UrlSource,
    metadata: dict[str, str],
    idempotency_key: str | None,
    document_id: str | None = None,
    task_id: str | None = None,
    priority: str = "normal",
) -> tuple[Task, bool]:
    """A new document, or (given `document_id`) a new version of an existing one.
    The task records its `priority`, so a re-publish keeps the command's lane."""
    task_id = task_id or new_task_id()
    command = IngestDocument(
        task_id=task_id,
        tenant_id=tenant_id,
        document_id=document_id or uuid.uuid4().hex,
        title=title,
        source=source,
        metadata=metadata,
        idempotency_key=idempotency_key,
    )
    task, created = await tasks.create(
        tenant_id=tenant_id,
        kind=INGEST_KIND,
        params={"command": command.model_dump(mode="json"), "priority": priority},
        idempotency_key=idempotency_key,
        task_id=task_id,
    )
    if not created:
        return task, False
    await publish_command(bus, tasks, command, priority=priority)
    return task, True


async def publish_command(
    bus: Bus, tasks: TaskRepository, command: IngestDocument, *, priority: str | None = None
) -> bool:
    """Publish with the task id as message id, so a re-publish is recognisably the same.
    `priority` (the task's) chooses the command's lane; its embed batches inherit it."""
    try:
        await bus.publish(
            command,
            tenant_id=command.tenant_id,
            message_id=command.task_id,
            task_id=command.task_id,  # parked for any reason, the task is failed with it
            priority=priority,
        )
    except PublishError as exc:
        # Recorded and queued: the watchdog publishes it once the broker is back.
        log.warning(
            "ingest publish failed; left for the watchdog",
            task_id=command.task_id,
            error=str(exc),
        )
        return False
    await tasks.mark_published(command.tenant_id, command.task_id)
    return True


def document_id_of(task: Task) -> str | None:
    command: dict[str, Any] = task.params.get("command") or {}
    value = command.get("document_id")
    return str(value) if value else None
