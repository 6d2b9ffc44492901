"""Message handlers: contract in, one adapter call, the task's state out.

- `omnirag.chunks.embed.v1` (command, `omnirag-embed.embed`) → EmbedHandler
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from tradebus_contracts import DocumentIndexed, EmbedChunks, TaskStatus
from tradebus_messaging import MessageContext
from tradebus_storage import DocumentGone, KnowledgeRepository, Task, TaskFlow, TaskRepository

from .adapters import BatchEmbedder
from .domain import batch_is_runnable, document_complete, indexed_message_id, indexed_result

log = structlog.get_logger(__name__)


class EmbedHandler:
    """Embed one batch, store its vectors, count it; the delivery that counts the last
    batch makes the document searchable and announces it.

    Idempotent, so a redelivered batch changes nothing it already changed:
    - vectors are upserted by batch id `<document>:<batch>` (a rewrite replaces them);
    - the batch is counted once: `complete_unit` is a compare-and-set on the task's
      `done_units`, so `done` reaches `batch_count` exactly once per document;
    - a batch of a deleted document is dropped (`DocumentGone`), leaving no vectors;
    - completing repeats safely: `mark_indexed` switches the document to the version
      this task built by compare-and-set on the task id, `document indexed` carries
      the message id `<task>.indexed` (subscribers drop a repeat), and the task moves to
      `succeeded` by compare-and-set (terminal states never regress).
    """

    def __init__(
        self, *, tasks: TaskRepository, knowledge: KnowledgeRepository, batches: BatchEmbedder
    ) -> None:
        self._tasks, self._knowledge, self._batches = tasks, knowledge, batches

    async def __call__(self, msg: EmbedChunks, ctx: MessageContext) -> None:
        task = await self._tasks.get(msg.tenant_id, msg.task_id)
        if not batch_is_runnable(task.status if task else None):
            log.info(
                "batch skipped",
                task_id=msg.task_id,
                batch=msg.batch_index,
                status=task.status.value if task else "missing",
            )
            return
        try:
            await self._batches.embed_batch(
                msg.tenant_id, msg.document_id, msg.batch_index, msg.chunk_ids
            )
        except DocumentGone:
            log.info("batch of a deleted document dropped", task_id=msg.task_id)
            return
        except Exception as exc:
            # The message context knows whether this failure parks the batch (permanent,
            # or the last attempt; outages retry regardless): then the document can never
            # complete, so its task fails now.
            if ctx.parks(exc):
                await TaskFlow(self._tasks, ctx.publish).fail(
                    msg.tenant_id, msg.task_id, "embed_failed", f"{type(exc).__name__}: {exc}"
                )
            raise
        after = await self._tasks.complete_unit(msg.tenant_id, msg.task_id, msg.batch_index)
        if after is not None and document_complete(
            after.status, after.progress.done, msg.batch_count
        ):
            await self._finish(msg, ctx, after)

    async def _finish(self, msg: EmbedChunks, ctx: MessageContext, task: Task) -> None:
        tenant = msg.tenant_id
        document = await self._knowledge.mark_indexed(tenant, msg.document_id, msg.task_id)
        if document is None:  # deleted, or superseded by a newer ingest, meanwhile
            log.info("document not switched: deleted or superseded", task_id=msg.task_id)
            await TaskFlow(self._tasks, ctx.publish).move(
                tenant, msg.task_id, TaskStatus.CANCELLED, previous=task.status
            )
            return
        result = indexed_result(msg.document_id, document, model=self._batches.model)
        # Event before the final state: a crash in between re-runs this on redelivery,
        # and the deterministic message id lets subscribers drop the repeat.
        await ctx.publish(
            DocumentIndexed(
                tenant_id=tenant,
                document_id=msg.document_id,
                task_id=msg.task_id,
                title=result["title"],
                chunk_count=result["chunk_count"],
                indexed_at=datetime.now(UTC),
            ),
            message_id=indexed_message_id(msg.task_id),
        )
        await TaskFlow(self._tasks, ctx.publish).succeed(
            tenant, msg.task_id, previous=task.status, result=result
        )
        log.info("document indexed", task_id=msg.task_id, chunks=result["chunk_count"])
