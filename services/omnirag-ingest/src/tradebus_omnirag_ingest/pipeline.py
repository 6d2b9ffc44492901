"""One document's ingest: fetch, parse and chunk (in the sandbox), dedupe, store, then
fan out embed batches. Every step is idempotent, so a redelivery repeats it harmlessly.
Each ingest (the first, or a reindex) writes a new version of the document; readers keep
the live version until omnirag-embed switches to the new one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

from tradebus_contracts import DocumentIndexed, EmbedChunks, IngestDocument, TaskStatus
from tradebus_messaging import MessageContext
from tradebus_storage import BlobStore, KnowledgeRepository, TaskFlow, TaskRepository

from .adapters import FetchLimits, fetch, store_chunks
from .domain import (
    ChunkingPolicy,
    batches,
    content_digest,
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
        # The version this task builds; readers keep the live one until it is complete.
        version = await self.knowledge.upsert_document(
            tenant_id=tenant,
            document_id=document,
            task_id=msg.task_id,
            title=msg.title,
            metadata=msg.metadata,
            source=msg.source.model_dump(mode="json"),
        )
        fetched = await fetch(
            msg.source, tenant_id=tenant, blobs=self.blobs, http=self.http, limits=self.fetch_limits
        )
        digest = content_digest(fetched.data)
        if await self._already_known(msg, ctx, version, digest):
            return
        chunks, repeats = first_of_each(await self.parser.extract(fetched.data, fetched.fmt))
        ids, known = await store_chunks(
            self.knowledge, tenant_id=tenant, document_id=document, version=version, chunks=chunks
        )
        duplicates = repeats + known
        await self.knowledge.record_pending(
            tenant,
            document,
            msg.task_id,
            chunk_count=len(ids),
            duplicate_chunks=duplicates,
            content_hash=digest,
        )
        if not ids:  # nothing to embed (every chunk a repeat)
            await self._finish_empty(msg, ctx, duplicates)
            return
        await self._fan_out(msg, ctx, batches(ids, self.policy.batch_size))
        log.info(
            "document chunked",
            task_id=msg.task_id,
            version=version,
            chunks=len(ids),
            duplicates=duplicates,
        )

    async def _already_known(
        self, msg: IngestDocument, ctx: MessageContext, version: int, digest: str
    ) -> bool:
        """Re-ingesting content the tenant already has is a no-op: a reindex of
        unchanged content keeps the live version; a new document equal to a live one
        is not duplicated, its task's result names the existing document."""
        tenant, document = msg.tenant_id, msg.document_id
        record = await self.knowledge.document(tenant, document) or {}
        if version > 1 and record.get("content_hash") == digest:
            await self.knowledge.abandon_pending(tenant, document, msg.task_id)
            await self._succeed(msg, ctx, document, record, unchanged=True)
            return True
        if version == 1:
            existing = await self.knowledge.live_duplicate(tenant, digest, other_than=document)
            if existing is not None:
                await self.knowledge.discard_unindexed(tenant, document)
                await self._succeed(msg, ctx, existing["_id"], existing, duplicate_of=True)
                return True
        return False

    async def _succeed(
        self,
        msg: IngestDocument,
        ctx: MessageContext,
        document_id: str,
        record: dict[str, Any],
        *,
        unchanged: bool = False,
        duplicate_of: bool = False,
    ) -> None:
        result: dict[str, Any] = {
            "document_id": document_id,
            "title": record.get("title", msg.title),
            "chunk_count": int(record.get("chunk_count") or 0),
            "duplicate_chunks": int(record.get("duplicate_chunks") or 0),
        }
        if unchanged:
            result["unchanged"] = True
        if duplicate_of:
            result["duplicate_of"] = document_id
        await TaskFlow(self.tasks, ctx.publish).succeed(msg.tenant_id, msg.task_id, result)
        log.info("content already indexed; no new version", task_id=msg.task_id, **result)

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
        if await self.knowledge.mark_indexed(msg.tenant_id, msg.document_id, msg.task_id) is None:
            return  # deleted meanwhile (its task was cancelled with it)
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
