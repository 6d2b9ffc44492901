"""`omnirag.document.ingest.v1`: fetch, parse, chunk, store, then fan out embed batches.

Idempotent by construction, so a redelivery (crash, reconciler re-publish) is harmless:
chunk ids are `<document>:<index>`, and embed batches carry deterministic message ids."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import structlog

from tradebus_contracts import DocumentIndexed, EmbedChunks, IngestDocument, TaskStatus
from tradebus_knowledge import CorruptDocument, UnsupportedFormat, chunk_text, normalize, parse
from tradebus_messaging import MessageContext, PermanentError
from tradebus_storage import BlobStore, KnowledgeRepository, NewChunk, TaskFlow, TaskRepository

from .fetch import Fetched, FetchLimits, FetchRefused, fetch

log = structlog.get_logger(__name__)


class DocumentRejected(PermanentError):
    """The document itself is unusable: retrying cannot help, the task fails."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class ChunkingPolicy:
    max_tokens: int
    overlap_tokens: int
    batch_size: int


def extract_chunks(fetched: Fetched, policy: ChunkingPolicy) -> list[NewChunk]:
    """Pure and CPU-bound (run in a thread): bytes → normalised text → chunks."""
    try:
        text = normalize(parse(fetched.data, fetched.fmt))
    except CorruptDocument as exc:
        raise DocumentRejected("corrupt_document", str(exc)) from exc
    except UnsupportedFormat as exc:
        raise DocumentRejected("unsupported_format", str(exc)) from exc
    chunks = chunk_text(text, max_tokens=policy.max_tokens, overlap_tokens=policy.overlap_tokens)
    if not chunks:
        raise DocumentRejected("empty_document", "the document contains no text")
    return [NewChunk(c.index, c.text, c.token_count, c.content_hash) for c in chunks]


def error_code(exc: Exception) -> str:
    if isinstance(exc, DocumentRejected):
        return exc.code
    if isinstance(exc, FetchRefused):
        return "fetch_refused"
    return "ingest_failed"


class IngestHandler:
    def __init__(
        self,
        *,
        tasks: TaskRepository,
        knowledge: KnowledgeRepository,
        blobs: BlobStore,
        http: httpx.AsyncClient,
        limits: FetchLimits,
        policy: ChunkingPolicy,
        max_attempts: int,
    ) -> None:
        self._tasks, self._knowledge, self._blobs = tasks, knowledge, blobs
        self._http, self._limits, self._policy = http, limits, policy
        self._max_attempts = max_attempts

    async def __call__(self, msg: IngestDocument, ctx: MessageContext) -> None:
        flow = TaskFlow(self._tasks, ctx.publish)
        task = await flow.start(msg.tenant_id, msg.task_id)
        if task is None:
            log.info("task not runnable; skipped", task_id=msg.task_id)
            return
        try:
            await self._ingest(msg, ctx)
        except Exception as exc:
            await flow.after_failure(
                msg.tenant_id,
                msg.task_id,
                exc,
                permanent=isinstance(exc, PermanentError),
                last_attempt=ctx.attempt >= self._max_attempts,
                code=error_code(exc),
            )
            if isinstance(exc, DocumentRejected | FetchRefused):
                await self._knowledge.set_document_status(
                    msg.tenant_id, msg.document_id, "failed", error=str(exc)
                )
            raise

    async def _ingest(self, msg: IngestDocument, ctx: MessageContext) -> None:
        tenant, document = msg.tenant_id, msg.document_id
        await self._knowledge.upsert_document(
            tenant_id=tenant,
            document_id=document,
            task_id=msg.task_id,
            title=msg.title,
            metadata=msg.metadata,
        )
        fetched = await fetch(
            msg.source, tenant_id=tenant, blobs=self._blobs, http=self._http, limits=self._limits
        )
        chunks = await asyncio.to_thread(extract_chunks, fetched, self._policy)
        duplicates = await self._knowledge.store_chunks(
            tenant_id=tenant, document_id=document, chunks=chunks
        )
        ids = await self._knowledge.chunk_ids(tenant, document)
        await self._knowledge.set_document_status(
            tenant, document, "ingesting", chunk_count=len(ids), duplicate_chunks=duplicates
        )
        if not ids:  # every chunk already known to the tenant
            await self._finish_empty(msg, ctx, duplicates)
            return
        size = self._policy.batch_size
        batches = [ids[i : i + size] for i in range(0, len(ids), size)]
        await self._tasks.set_progress_total(tenant, msg.task_id, len(batches))
        for index, batch in enumerate(batches):
            current = await self._tasks.get(tenant, msg.task_id)
            if current is None or current.status is TaskStatus.CANCELLED:
                log.info("task cancelled; remaining batches skipped", task_id=msg.task_id)
                return
            await ctx.publish(
                EmbedChunks(
                    task_id=msg.task_id,
                    tenant_id=tenant,
                    document_id=document,
                    batch_index=index,
                    batch_count=len(batches),
                    chunk_ids=batch,
                ),
                message_id=f"{msg.task_id}.embed.{index}",
            )
        log.info(
            "document chunked",
            task_id=msg.task_id,
            chunks=len(ids),
            batches=len(batches),
            duplicates=duplicates,
        )

    async def _finish_empty(
        self, msg: IngestDocument, ctx: MessageContext, duplicates: int
    ) -> None:
        await self._tasks.set_progress_total(msg.tenant_id, msg.task_id, 0)
        await self._knowledge.set_document_status(msg.tenant_id, msg.document_id, "indexed")
        await ctx.publish(
            DocumentIndexed(
                tenant_id=msg.tenant_id,
                document_id=msg.document_id,
                task_id=msg.task_id,
                title=msg.title,
                chunk_count=0,
                indexed_at=datetime.now(UTC),
            ),
            message_id=f"{msg.task_id}.indexed",
        )
        await TaskFlow(self._tasks, ctx.publish).succeed(
            msg.tenant_id,
            msg.task_id,
            {
                "document_id": msg.document_id,
                "title": msg.title,
                "chunk_count": 0,
                "duplicate_chunks": duplicates,
            },
        )
