"""The consistency check's one repair that goes through the pipeline: re-enqueue the embed
batches of a document version whose chunks have no vectors, under a repair task that the
embed worker counts and completes like an ingest's (see kb_check.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import structlog

from tradebus_contracts import Contract, EmbedChunks, Envelope, TaskStatus
from tradebus_messaging import MessageContext
from tradebus_storage import TaskFlow, TaskRepository

from .adapters.kb_audit import KnowledgeAudit
from .domain.consistency import repair_task_id

log = structlog.get_logger(__name__)

ACTIVE = {TaskStatus.QUEUED.value, TaskStatus.RUNNING.value, TaskStatus.RETRYING.value}
REPAIR_KIND = "rag.repair"


class Publish(Protocol):
    def __call__(
        self,
        payload: Contract,
        *,
        tenant_id: str | None = ...,
        causation: Envelope | None = ...,
        message_id: str | None = ...,
        task_id: str | None = ...,
    ) -> Awaitable[Envelope]: ...


@dataclass(frozen=True, slots=True)
class VersionTarget:
    """One version of one document that should have a vector for every chunk."""

    document: dict[str, Any]
    version: int
    dead_task_id: str | None  # a stuck document's dead builder; None for a live version


class BatchRepair:
    def __init__(self, *, audit: KnowledgeAudit, tasks: TaskRepository, publish: Publish) -> None:
        self._audit, self._tasks, self._publish = audit, tasks, publish

    async def resend(
        self,
        tenant: str,
        target: VersionTarget,
        *,
        groups: Sequence[tuple[int, list[str]]],
        chunk_count: int,
        slot: datetime,
        ctx: MessageContext,
    ) -> tuple[str, int] | None:
        """Publish `groups` (batch index, chunk ids) of the target version; returns
        (repair task id, batches), or None when nothing was sent (the slot's repair
        ended, or another ingest of the document began meanwhile: it rebuilds the
        document anyway). `chunk_count`: the version's chunks."""
        document_id = target.document["_id"]
        task_id = repair_task_id(tenant, document_id, target.version, slot)
        task, _ = await self._tasks.create(
            tenant_id=tenant,
            kind=REPAIR_KIND,
            params={
                "document_id": document_id,
                "version": target.version,
                "slot": slot.isoformat(),
                "batches": [index for index, _ in groups],
            },
            task_id=task_id,
        )
        if task.status.value not in ACTIVE:
            return None  # this slot's repair already ended (a redelivered check)
        if not await self._hand_over(target, task_id, chunk_count):
            await TaskFlow(self._tasks, ctx.publish).move(tenant, task_id, TaskStatus.CANCELLED)
            return None
        await self._tasks.set_progress_total(tenant, task_id, len(groups))
        await TaskFlow(self._tasks, ctx.publish).start(tenant, task_id)
        for index, group in groups:
            await self._publish(
                EmbedChunks(
                    task_id=task_id,
                    tenant_id=tenant,
                    document_id=document_id,
                    batch_index=index,
                    batch_count=len(groups),
                    chunk_ids=group,
                ),
                tenant_id=tenant,
                causation=ctx.envelope,
                message_id=f"{task_id}.embed.{index}",
                task_id=task_id,
            )
        log.info(
            "embed batches re-enqueued",
            tenant_id=tenant,
            document_id=document_id,
            version=target.version,
            repair_task_id=task_id,
            batches=len(groups),
        )
        return task_id, len(groups)

    async def _hand_over(self, target: VersionTarget, task_id: str, chunk_count: int) -> bool:
        if target.dead_task_id is None:
            return await self._audit.hand_live_version(
                target.document, version=target.version, task_id=task_id, chunk_count=chunk_count
            )
        return await self._audit.hand_pending_version(
            target.document,
            dead_task_id=target.dead_task_id,
            task_id=task_id,
            chunk_count=chunk_count,
        )
