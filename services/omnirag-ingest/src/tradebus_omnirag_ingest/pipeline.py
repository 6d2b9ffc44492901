"""One document's ingest: fetch, parse and chunk (in the sandbox), dedupe, store, then
fan out embed batches. Every step is idempotent, so a redelivery repeats it harmlessly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import structlog

from tradebus_contracts import DocumentIndexed, EmbedChunks, IngestDocument, TaskStatus
from tradebus_messaging import MessageContext
from tradebus_storage import BlobStore, KnowledgeRepository, TaskFlow, TaskRepository

from .adapters import FetchLimits, fetch, store_chunks
from .domain import (
    ChunkingPolicy,
    batches,
    embed_message_id,
    first_of_each,
    indexed_message_id,
)
from .domain.ports import DocumentParser

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class IngestPipeline:
    tasks: TaskRepository
    knowledge: KnowledgeRepository
    blobs: BlobStore
    http: httpx.AsyncClient
    parser: DocumentParser
    fetch_limits: FetchLimits
    policy: ChunkingPolicy

    async def run(self, msg: IngestDocument, ctx: MessageContext) -> None:
        tenant, document = msg.tenant_id, msg.document_id
        await self.knowledge.upsert_document(
            tenant_id=tenant,
            document_id=document,
            task_id=msg.task_id,
            title=msg.title,
            metadata=msg.metadata,
        )
        fetched = await fetch(
            msg.source, tenant_id=tenant, blobs=self.blobs, http=self.http, limits=self.fetch_limits
        )
        chunks, repeats = first_of_each(await self.parser.extract(fetched.data, fetched.fmt))
        ids, known = await store_chunks(
            self.knowledge, tenant_id=tenant, document_id=document, chunks=chunks
        )
        duplicates = repeats + known
        await self.knowledge.set_document_status(
            tenant, document, "ingesting", chunk_count=len(ids), duplicate_chunks=duplicates
        )
        if not ids:  # every chunk already known to the tenant
            await self._finish_empty(msg, ctx, duplicates)
            return
        await self._fan_out(msg, ctx, batches(ids, self.policy.batch_size))
        log.info("document chunked", task_id=msg.task_id, chunks=len(ids), duplicates=duplicates)

    async def _fan_out(
        self, msg: IngestDocument, ctx: MessageContext, groups: list[list[str]]
    ) -> None:
        await self.tasks.set_progress_total(msg.tenant_id, msg.task_id, len(groups))
        for index, group in enumerate(groups):
            current = await self.tasks.get(msg.tenant_id, msg.task_id)
            if current is None or current.status is TaskStatus.CANCELLED:
                log.info("task cancelled; remaining batches skipped", task_id=msg.task_id)
                return
            await ctx.publish(
                EmbedChunks(
                    task_id=msg.task_id,
                    tenant_id=msg.tenant_id,
                    document_id=msg.document_id,
                    batch_index=index,
                    batch_count=len(groups),
                    chunk_ids=group,
                ),
                message_id=embed_message_id(msg.task_id, index),
            )

    async def _finish_empty(
        self, msg: IngestDocument, ctx: MessageContext, duplicates: int
    ) -> None:
        await self.tasks.set_progress_total(msg.tenant_id, msg.task_id, 0)
        await self.knowledge.set_document_status(msg.tenant_id, msg.document_id, "indexed")
        await ctx.publish(
            DocumentIndexed(
                tenant_id=msg.tenant_id,
                document_id=msg.document_id,
                task_id=msg.task_id,
                title=msg.title,
                chunk_count=0,
                indexed_at=datetime.now(UTC),
            ),
            message_id=indexed_message_id(msg.task_id),
        )
        await TaskFlow(self.tasks, ctx.publish).succeed(
            msg.tenant_id,
            msg.task_id,
            {
                "document_id": msg.document_id,
                "title": msg.title,
                "chunk_count": 0,
                "duplicate_chunks": duplicates,
            },
        )
