"""Scheduled jobs: the commands the notifier's scheduler publishes once per slot, and what
the jobs report. Every scheduled command carries its `slot` (the instant the schedule
named, UTC): a redelivery or re-publish of the same slot is the same run."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from ._base import Contract, MessageKind


class CheckKnowledgeBase(Contract):
    """Check one tenant's knowledge base (or every tenant's) for inconsistencies and
    repair what can be repaired."""

    message_type: ClassVar[str] = "omnirag.kb.check.v1"
    kind: ClassVar[MessageKind] = MessageKind.COMMAND

    slot: datetime = Field(..., description="The schedule slot this run belongs to.")
    tenant_id: str | None = Field(
        None, max_length=128, description="One tenant, or every tenant with stored data."
    )
    repair: bool = Field(
        True, description="Repair what can be repaired; false only counts (a dry run)."
    )


class KnowledgeBaseChecked(Contract):
    """One tenant's knowledge-base check finished: what it found and what it repaired."""

    message_type: ClassVar[str] = "omnirag.kb.checked.v1"
    kind: ClassVar[MessageKind] = MessageKind.EVENT

    tenant_id: str
    slot: datetime
    checked_at: datetime
    repair: bool
    documents_checked: int = Field(..., ge=0)
    stuck_documents: int = Field(
        ..., ge=0, description="Documents left `ingesting` past the threshold."
    )
    stuck_failed: int = Field(
        ..., ge=0, description="Stuck documents marked failed: nothing of them to repair."
    )
    chunks_without_vectors: int = Field(..., ge=0)
    batches_reenqueued: int = Field(..., ge=0, description="Embed batches published again.")
    vectors_without_chunks: int = Field(
        ..., ge=0, description="Vector batches naming chunks that no longer exist."
    )
    vectors_removed: int = Field(..., ge=0)
    orphan_chunks: int = Field(..., ge=0, description="Chunks whose document is gone.")
    orphan_chunks_removed: int = Field(..., ge=0)
    orphan_blobs: int = Field(..., ge=0, description="Stored uploads no task refers to.")
    orphan_blobs_removed: int = Field(..., ge=0)


class RunSweeps(Contract):
    """Sweep what no TTL index expires (see the notifier's README for the list)."""

    message_type: ClassVar[str] = "notifier.sweeps.run.v1"
    kind: ClassVar[MessageKind] = MessageKind.COMMAND

    slot: datetime = Field(..., description="The schedule slot this run belongs to.")
