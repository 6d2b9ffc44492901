"""Batch submission: the parent task and one ordinary ingest task per document, recorded
in one transaction, then each child's command published (with the child's task id as
message id, as for a single document). A crash or a broker outage after the write leaves
queued, unpublished children: the watchdog publishes them, as it does any such task."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from tradebus_contracts import IngestDocument, TextSource, UploadSource, UrlSource
from tradebus_messaging import Bus
from tradebus_storage import Task, TaskRepository, new_task_id

from .submission import INGEST_KIND, publish_command

# Publishes in flight at once for one batch: confirms overlap, the channel is not flooded.
PUBLISH_CONCURRENCY = 16


class BatchItem(NamedTuple):
    title: str
    source: TextSource | UploadSource | UrlSource
    metadata: dict[str, str]
    priority: str = "normal"  # its lane; recorded on its task, so a re-publish keeps it


async def submit_batch(
    *,
    tasks: TaskRepository,
    bus: Bus,
    tenant_id: str,
    documents: Sequence[BatchItem],
    idempotency_key: str | None,
) -> tuple[Task, bool]:
    """Each child records its priority as a single document does. For a repeated
    idempotency key the first batch and False (nothing recorded or published)."""
    commands = [
        (
            IngestDocument(
                task_id=new_task_id(),
                tenant_id=tenant_id,
                document_id=uuid.uuid4().hex,
                title=item.title,
                source=item.source,
                metadata=item.metadata,
            ),
            item.priority,
        )
        for item in documents
    ]
    parent, created = await tasks.create_batch(
        tenant_id=tenant_id,
        task_id=new_task_id(),
        children=[
            (c.task_id, {"command": c.model_dump(mode="json"), "priority": priority})
            for c, priority in commands
        ],
        child_kind=INGEST_KIND,
        params={
            "documents": [{"task_id": c.task_id, "document_id": c.document_id} for c, _ in commands]
        },
        idempotency_key=idempotency_key,
    )
    if not created:
        return parent, False
    gate = asyncio.Semaphore(PUBLISH_CONCURRENCY)

    async def publish(command: IngestDocument, priority: str) -> None:
        async with gate:  # a failure is left for the watchdog
            await publish_command(bus, tasks, command, priority=priority)

    await asyncio.gather(*(publish(c, p) for c, p in commands))
    # The parent is published through its children: the watchdog's lost-publish queries
    # must not take it for a command of its own.
    await tasks.mark_published(tenant_id, parent.id)
    return parent, True


def batch_documents(parent: Task) -> list[dict[str, Any]]:
    """(task id, document id) of each child, in the order given."""
    return list(parent.params.get("documents") or [])
