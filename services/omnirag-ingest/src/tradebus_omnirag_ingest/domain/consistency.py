"""The knowledge-base consistency check's pure decisions: which embed batches to send
again for chunks that have no vectors, the repair task's id, and the report's counts."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass(slots=True)
class KbReport:
    documents_checked: int = 0
    stuck_documents: int = 0
    stuck_failed: int = 0
    chunks_without_vectors: int = 0
    batches_reenqueued: int = 0
    vectors_without_chunks: int = 0
    vectors_removed: int = 0
    orphan_chunks: int = 0
    orphan_chunks_removed: int = 0
    orphan_blobs: int = 0
    orphan_blobs_removed: int = 0
    repair_tasks: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, int)}


def plan_batches(
    ordered: Sequence[str],
    existing: Mapping[int, Sequence[str]],
    missing: set[str],
    batch_size: int,
) -> list[tuple[int, list[str]]]:
    """Embed batches (index, chunk ids) that cover `missing`, chunks of one version.

    Vectors are stored per batch under `<version key>:<index>`, and writing a batch
    replaces what that id held, so a batch sent again must never take an index that
    holds other chunks' vectors. A batch of the ingest's own split (`ordered` cut every
    `batch_size`) whose index holds nothing and whose chunks all lack vectors is sent
    as it was; any other missing chunk goes in a batch of a fresh index above every
    index in use."""
    covered = {c for ids in existing.values() for c in ids}
    planned: list[tuple[int, list[str]]] = []
    placed: set[str] = set()
    natural = [list(ordered[i : i + batch_size]) for i in range(0, len(ordered), batch_size)]
    for index, group in enumerate(natural):
        if index in existing or not all(c in missing and c not in covered for c in group):
            continue
        planned.append((index, group))
        placed.update(group)
    rest = [c for c in ordered if c in missing and c not in placed]
    fresh = max([len(natural) - 1, *existing, *(i for i, _ in planned)], default=-1) + 1
    for offset in range(0, len(rest), batch_size):
        planned.append((fresh, rest[offset : offset + batch_size]))
        fresh += 1
    return planned


def repair_task_id(tenant_id: str, document_id: str, version: int, slot: datetime) -> str:
    """One repair task per document version and check slot: a redelivered check finds
    the task it made and sends the same batches again (same message ids)."""
    key = f"{tenant_id}\x00{document_id}\x00{version}\x00{slot.isoformat()}"
    return "kbr_" + hashlib.sha256(key.encode()).hexdigest()[:28]
