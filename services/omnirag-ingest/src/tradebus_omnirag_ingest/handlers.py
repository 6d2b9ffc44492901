"""Message handlers: contract in, one pipeline call, the task's state out.

- `omnirag.document.ingest.v1` (command, `omnirag-ingest.ingest`) → IngestHandler
"""

from __future__ import annotations

import structlog

from tradebus_contracts import IngestDocument, TaskStatus
from tradebus_messaging import MessageContext
from tradebus_storage import DocumentGone, KnowledgeRepository, TaskFlow, TaskRepository

from .errors import error_code
from .pipeline import IngestPipeline

log = structlog.get_logger(__name__)


class IngestHandler:
    """Fetch, parse, chunk, store, then publish the document's embed batches.

    Idempotent by natural keys, so a redelivery (crash, reconciler re-publish, replay)
    repeats the work without duplicating its effects:
    - the task moves by compare-and-set (`TaskFlow.start`: queued/retrying → running; a
      running task continues, a finished one is skipped);
    - the document is upserted by (tenant, document id), and the version the task builds
      is recorded with it, so a redelivery resumes the same version;
    - chunking is deterministic and chunk ids are `<document>[#<version>]:<index>`,
      inserted with ordered=False so existing ids are kept;
    - a deleted document (tombstone) is never written again: its task is cancelled;
    - embed batches carry deterministic message ids `<task>.embed.<n>` (and
      `<task>.indexed` for the empty document's event), so subscribers drop repeats;
      omnirag-embed counts each batch once.
    """

    def __init__(
        self, *, tasks: TaskRepository, knowledge: KnowledgeRepository, pipeline: IngestPipeline
    ) -> None:
        self._tasks, self._knowledge, self._pipeline = tasks, knowledge, pipeline

    async def __call__(self, msg: IngestDocument, ctx: MessageContext) -> None:
        flow = TaskFlow(self._tasks, ctx.publish)
        if await flow.start(msg.tenant_id, msg.task_id, replayed=ctx.replayed) is None:
            log.info("task not runnable; skipped", task_id=msg.task_id)
            return
        try:
            await self._pipeline.run(msg, ctx)
        except DocumentGone:
            log.info("document deleted; ingest dropped", task_id=msg.task_id)
            await flow.move(msg.tenant_id, msg.task_id, TaskStatus.CANCELLED)
        except Exception as exc:
            # The message context knows whether this failure parks the message (a
            # permanent error, or the last attempt; outages retry regardless).
            if ctx.parks(exc):
                code = error_code(exc)
                await flow.fail(msg.tenant_id, msg.task_id, code, f"{type(exc).__name__}: {exc}")
                # A reindex that fails leaves the live version serving.
                await self._knowledge.abandon_pending(
                    msg.tenant_id, msg.document_id, msg.task_id, error=str(exc)
                )
            else:
                await flow.move(msg.tenant_id, msg.task_id, TaskStatus.RETRYING)
            raise
