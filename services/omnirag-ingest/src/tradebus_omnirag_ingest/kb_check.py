"""`omnirag.kb.check.v1` (command, `omnirag-ingest.kb-check`): the knowledge-base
consistency check, one tenant per message.

Without a tenant the command fans out one command per tenant with stored data (message
ids `<command id>.<tenant>`), so one tenant's failure retries and parks alone. Per
tenant, in this order (vector batches are read before chunks: a batch written later than
that read names chunks that existed before it, so no new batch looks orphaned):

1. orphan chunks (their document is gone or deleted), past the safety age: removed;
2. vector batches naming a chunk that no longer exists: removed (their remaining
   chunks, if any, are then chunks without vectors);
3. documents stuck `ingesting` past the threshold whose task is over or gone: with
   chunks, their version is repaired like (4); without, they are marked failed;
4. chunks of a document's live version (or a stuck document's version) without vectors,
   past the safety age: their embed batches are published again, under a repair task
   (`rag.repair`, id from the document, version and slot) that the embed worker counts
   and completes like an ingest, switching the version so its vectors are searchable;
5. stored uploads nothing refers to, past the blob safety age: removed.

The counts are logged, stored per (tenant, slot) and announced as
`omnirag.kb.checked.v1`. Idempotent: a slot already reported is skipped; before that, a
redelivery finds its repair tasks (deterministic ids) and publishes the same batches
under the same message ids, which the embed worker counts once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pymongo.asynchronous.database import AsyncDatabase

from tradebus_contracts import CheckKnowledgeBase, KnowledgeBaseChecked
from tradebus_messaging import Bus, MessageContext
from tradebus_storage import TaskRepository

from .adapters.kb_audit import CheckReports, KnowledgeAudit
from .domain.consistency import KbReport, plan_batches
from .kb_repair import ACTIVE, BatchRepair, Publish, VersionTarget
from .settings import OmniragIngestSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CheckPolicy:
    batch_size: int
    stuck_after: timedelta
    min_age: timedelta  # chunks younger than this are never judged (ingests in flight)
    blob_min_age: timedelta


class KbCheckHandler:
    def __init__(
        self,
        *,
        audit: KnowledgeAudit,
        reports: CheckReports,
        tasks: TaskRepository,
        publish: Publish,
        policy: CheckPolicy,
    ) -> None:
        self._audit, self._reports, self._publish, self._policy = audit, reports, publish, policy
        self._repair = BatchRepair(audit=audit, tasks=tasks, publish=publish)

    async def __call__(self, command: CheckKnowledgeBase, ctx: MessageContext) -> None:
        if command.tenant_id is None:
            await self._fan_out(command, ctx)
            return
        tenant = command.tenant_id
        if await self._reports.get(tenant, command.slot) is not None:
            log.info("kb check already reported", tenant_id=tenant, slot=command.slot.isoformat())
            return
        now = datetime.now(UTC)
        report = await self._check(tenant, command, ctx, now)
        counts = report.counts()
        await self._reports.store(
            tenant,
            command.slot,
            {**counts, "repair": command.repair, "repair_tasks": report.repair_tasks},
            now=now,
        )
        await self._publish(
            KnowledgeBaseChecked(
                tenant_id=tenant,
                slot=command.slot,
                checked_at=now,
                repair=command.repair,
                **counts,
            ),
            tenant_id=tenant,
            causation=ctx.envelope,
            message_id=f"kb-checked.{tenant}@{command.slot.isoformat()}",
        )
        log.info("kb checked", tenant_id=tenant, slot=command.slot.isoformat(), **counts)

    async def _fan_out(self, command: CheckKnowledgeBase, ctx: MessageContext) -> None:
        tenants = await self._audit.tenants()
        for tenant in tenants:
            await self._publish(
                command.model_copy(update={"tenant_id": tenant}),
                tenant_id=tenant,
                causation=ctx.envelope,
                message_id=f"{ctx.envelope.id}.{tenant}",
            )
        log.info("kb check fanned out", tenants=len(tenants), slot=command.slot.isoformat())

    async def _check(
        self, tenant: str, command: CheckKnowledgeBase, ctx: MessageContext, now: datetime
    ) -> KbReport:
        report, repair, policy = KbReport(), command.repair, self._policy
        vector_batches = await self._audit.vector_batches(tenant)  # before chunks: see above
        chunks = await self._audit.chunks(tenant)
        documents = {d["_id"]: d for d in await self._audit.documents(tenant)}
        report.documents_checked = sum(
            1 for d in documents.values() if d.get("status") != "deleted"
        )
        settled = now - policy.min_age

        # 1. chunks whose document is gone
        orphans = [
            c["_id"]
            for c in chunks
            if documents.get(c["document_id"], {}).get("status", "deleted") == "deleted"
            and _aware(c.get("created_at")) <= settled
        ]
        report.orphan_chunks = len(orphans)
        if repair and orphans:
            report.orphan_chunks_removed = await self._audit.remove_chunks(tenant, orphans)
        gone = set(orphans) if repair else set()
        chunk_ids = {c["_id"] for c in chunks} - gone

        # 2. vector batches naming chunks that no longer exist
        broken = [
            v["_id"] for v in vector_batches if any(i not in chunk_ids for i in v["chunk_ids"])
        ]
        report.vectors_without_chunks = len(broken)
        if repair and broken:
            report.vectors_removed = await self._audit.remove_vectors(tenant, broken)
        removed = set(broken) if repair else set()
        intact = [v for v in vector_batches if v["_id"] not in removed]

        # 3. + 4. versions that should be fully embedded
        by_version: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
        for c in chunks:
            if c["_id"] in chunk_ids:
                by_version[c["document_id"], int(c.get("version") or 1)].append(c)
        embedded: dict[tuple[str, int], dict[int, list[str]]] = defaultdict(dict)
        for v in intact:
            index = int(str(v["_id"]).rsplit(":", 1)[1])
            embedded[v["document_id"], int(v.get("version") or 1)][index] = v["chunk_ids"]
        targets = await self._targets(tenant, documents.values(), by_version, report, now, repair)
        for target in targets:
            key = (target.document["_id"], target.version)
            await self._embed_missing(
                tenant,
                target,
                by_version.get(key, []),
                embedded.get(key, {}),
                command,
                ctx,
                report,
                settled,
            )

        # 5. stored uploads nothing refers to
        blobs = await self._audit.orphan_blobs(tenant, older_than=policy.blob_min_age, now=now)
        report.orphan_blobs = len(blobs)
        if repair:
            for blob_id in blobs:
                await self._audit.remove_blob(blob_id)
                report.orphan_blobs_removed += 1
        return report

    async def _targets(
        self,
        tenant: str,
        documents: Any,
        by_version: dict[tuple[str, int], list[dict[str, Any]]],
        report: KbReport,
        now: datetime,
        repair: bool,
    ) -> list[VersionTarget]:
        targets: list[VersionTarget] = []
        stuck_before = now - self._policy.stuck_after
        for doc in documents:
            status, builder = doc.get("status"), doc.get("pending_task_id")
            if status not in ("indexed", "ingesting"):
                continue
            old = _aware(doc.get("updated_at")) <= stuck_before
            if status == "indexed":
                if builder is not None:  # a new version is being built: not judged ...
                    if not old or await self._audit.task_status(tenant, builder) in ACTIVE:
                        continue
                    # ... unless its builder died: the live version keeps serving.
                    report.stuck_documents += 1
                    if not repair:
                        continue
                    await self._audit.abandon_pending(doc, builder, "reindex did not finish")
                targets.append(VersionTarget(doc, int(doc.get("version") or 1), None))
                continue
            if (
                not old
                or await self._audit.task_status(tenant, builder or doc.get("task_id")) in ACTIVE
            ):
                continue  # slow, not stuck: the task watchdog bounds it
            report.stuck_documents += 1
            version = int(doc.get("pending_version") or 1)
            if builder and by_version.get((doc["_id"], version)):
                targets.append(VersionTarget(doc, version, builder))
            elif repair and await self._audit.mark_failed(
                doc, "ingest did not finish (consistency check)", now
            ):
                report.stuck_failed += 1
        return targets

    async def _embed_missing(
        self,
        tenant: str,
        target: VersionTarget,
        version_chunks: list[dict[str, Any]],
        existing: dict[int, list[str]],
        command: CheckKnowledgeBase,
        ctx: MessageContext,
        report: KbReport,
        settled: datetime,
    ) -> None:
        ordered = [c["_id"] for c in sorted(version_chunks, key=lambda c: c["index"])]
        covered = {i for ids in existing.values() for i in ids}
        missing = {
            c["_id"]
            for c in version_chunks
            if c["_id"] not in covered
            and (target.dead_task_id is not None or _aware(c.get("created_at")) <= settled)
        }
        report.chunks_without_vectors += len(missing)
        if missing:
            groups = plan_batches(ordered, existing, missing, self._policy.batch_size)
        elif target.dead_task_id is not None and existing:
            # Every batch landed but the version was never switched (its builder died
            # after the last one): one batch again completes it the normal way.
            last = max(existing)
            groups = [(last, list(existing[last]))]
        else:
            return
        if not command.repair:
            return
        sent = await self._repair.resend(
            tenant, target, groups=groups, chunk_count=len(ordered), slot=command.slot, ctx=ctx
        )
        if sent is not None:
            report.repair_tasks.append(sent[0])
            report.batches_reenqueued += sent[1]


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


KB_CHECK_QUEUE = "omnirag-ingest.kb-check"


async def wire_kb_check(
    bus: Bus, db: AsyncDatabase[Any], settings: OmniragIngestSettings, tasks: TaskRepository
) -> None:
    """Subscribe the check: one at a time per replica (a nightly job must not take the
    ingest's share of the database)."""
    reports = CheckReports(
        db, retention=timedelta(seconds=settings.kb_check_report_retention_seconds)
    )
    await reports.ensure_indexes()
    bus.subscribe(
        queue=KB_CHECK_QUEUE,
        message_types=[CheckKnowledgeBase.message_type],
        handler=KbCheckHandler(
            audit=KnowledgeAudit(db),
            reports=reports,
            tasks=tasks,
            publish=bus.publish,
            policy=CheckPolicy(
                batch_size=settings.embed_batch_size,
                stuck_after=timedelta(seconds=settings.kb_check_stuck_after_seconds),
                min_age=timedelta(seconds=settings.kb_check_min_age_seconds),
                blob_min_age=timedelta(seconds=settings.kb_check_blob_min_age_seconds),
            ),
        ),
        prefetch=1,
        concurrency=1,
        time_limit_seconds=settings.kb_check_time_limit_seconds,
    )
