"""`omnirag.chunks.embed.v1`: embed one batch, store its vectors, count it once; the
delivery that completes the last batch makes the document searchable and announces it.

A redelivered batch rewrites the same vectors (idempotent writes) and is counted once
(`complete_unit`), so nothing is duplicated."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog

from tradebus_contracts import DocumentIndexed, EmbedChunks, TaskStatus
from tradebus_knowledge import Embedder
from tradebus_messaging import MessageContext, PermanentError
from tradebus_storage import KnowledgeRepository, Task, TaskFlow, TaskRepository

log = structlog.get_logger(__name__)

SKIP = frozenset({TaskStatus.CANCELLED, TaskStatus.FAILED, TaskStatus.SUCCEEDED})


class EmbedHandler:
    def __init__(
        self,
        *,
        tasks: TaskRepository,
        knowledge: KnowledgeRepository,
        embedder: Embedder,
        budget: asyncio.Semaphore,
        max_attempts: int,
    ) -> None:
        self._tasks, self._knowledge = tasks, knowledge
        self._embedder, self._budget = embedder, budget
        self._max_attempts = max_attempts

    async def __call__(self, msg: EmbedChunks, ctx: MessageContext) -> None:
        task = await self._tasks.get(msg.tenant_id, msg.task_id)
        if task is None or task.status in SKIP:
            log.info(
                "batch skipped",
                task_id=msg.task_id,
                batch=msg.batch_index,
                status=task.status.value if task else "missing",
            )
            return
        try:
            await self._embed(msg)
        except Exception as exc:
            last = isinstance(exc, PermanentError) or ctx.attempt >= self._max_attempts
            if last:  # the batch will be parked: the document can never complete
                await TaskFlow(self._tasks, ctx.publish).fail(
                    msg.tenant_id, msg.task_id, "embed_failed", f"{type(exc).__name__}: {exc}"
                )
            raise
        after = await self._tasks.complete_unit(msg.tenant_id, msg.task_id, msg.batch_index)
        if after is not None and after.progress.done >= msg.batch_count:
            await self._finish(msg, ctx, after)

    async def _embed(self, msg: EmbedChunks) -> None:
        chunks = await self._knowledge.load_chunks(msg.tenant_id, msg.chunk_ids)
        if len(chunks) != len(msg.chunk_ids):
            raise PermanentError(
                f"{len(msg.chunk_ids) - len(chunks)} of the batch's chunks do not exist"
            )
        async with self._budget:
            vectors = await self._embedder.embed([c.text for c in chunks])
        await self._knowledge.store_vectors(
            msg.tenant_id,
            msg.document_id,
            msg.batch_index,
            [c.id for c in chunks],
            vectors,
            model=self._embedder.name,
        )

    async def _finish(self, msg: EmbedChunks, ctx: MessageContext, task: Task) -> None:
        tenant = msg.tenant_id
        if task.status in (TaskStatus.CANCELLED, TaskStatus.FAILED):
            return
        document = await self._knowledge.mark_indexed(tenant, msg.document_id) or {}
        count = int(document.get("chunk_count", 0))
        title = str(document.get("title", ""))
        # Event before the final state: a crash in between re-runs this on redelivery,
        # and the deterministic message id lets subscribers drop the repeat.
        await ctx.publish(
            DocumentIndexed(
                tenant_id=tenant,
                document_id=msg.document_id,
                task_id=msg.task_id,
                title=title,
                chunk_count=count,
                indexed_at=datetime.now(UTC),
            ),
            message_id=f"{msg.task_id}.indexed",
        )
        await TaskFlow(self._tasks, ctx.publish).succeed(
            tenant,
            msg.task_id,
            previous=task.status,
            result={
                "document_id": msg.document_id,
                "title": title,
                "chunk_count": count,
                "duplicate_chunks": int(document.get("duplicate_chunks", 0)),
                "embedding_model": self._embedder.name,
            },
        )
        log.info("document indexed", task_id=msg.task_id, chunks=count)
