"""Retrieval quality: the scheduled recall evaluation dealbrain runs and what it found."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from ._base import Contract, MessageKind


class EvaluateRecall(Contract):
    """Measure retrieval recall@k and MRR over a sample of each tenant's own chunks.

    Published by the scheduler once per schedule slot; the slot also seeds the sample, so a
    redelivered command measures the same chunks."""

    message_type: ClassVar[str] = "dealbrain.recall.evaluate.v1"
    kind: ClassVar[MessageKind] = MessageKind.COMMAND

    slot: datetime = Field(..., description="The schedule slot this run belongs to.")
    tenant_id: str | None = Field(
        None, max_length=128, description="One tenant, or every tenant with a knowledge base."
    )
    sample_size: int = Field(50, ge=1, le=1000, description="Chunks sampled per tenant.")
    k: int = Field(5, ge=1, le=50, description="A target found within the top k counts.")


class RecallEvaluated(Contract):
    """One tenant's recall evaluation finished."""

    message_type: ClassVar[str] = "dealbrain.recall.evaluated.v1"
    kind: ClassVar[MessageKind] = MessageKind.EVENT

    tenant_id: str
    slot: datetime
    at: datetime = Field(..., description="When the evaluation finished.")
    k: int = Field(..., ge=1)
    recall_at_k: float = Field(
        ..., ge=0.0, le=1.0, description="Share of sampled chunks found in the top k."
    )
    mrr: float = Field(
        ..., ge=0.0, le=1.0, description="Mean reciprocal rank of the target (0 if not found)."
    )
    samples: int = Field(..., ge=0, description="Questions asked.")
    method: Literal["offline", "llm"] = Field(
        ..., description="How the questions were made: from the chunk's own terms, or by the LLM."
    )
    embedder: str = Field(..., description="Embedding model the index was searched with.")
    threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="Configured recall@k floor, if any."
    )
    below_threshold: bool = Field(False, description="recall_at_k fell under the threshold.")
