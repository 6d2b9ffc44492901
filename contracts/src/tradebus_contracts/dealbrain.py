"""dealbrain: deal Q&A over the tenant's knowledge base (RPC)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field

from ._base import Contract, MessageKind


class AskRequest(Contract):
    message_type: ClassVar[str] = "dealbrain.ask.v1"
    kind: ClassVar[MessageKind] = MessageKind.REQUEST

    tenant_id: str
    question: str = Field(
        ..., min_length=1, max_length=4000, examples=["Who pays import duty under DAP Incoterms?"]
    )
    session_id: str | None = None
    top_k: int = Field(5, ge=1, le=50)
    filters: dict[str, str] = Field(default_factory=dict)


class Citation(BaseModel):
    document_id: str
    chunk_id: str
    title: str
    snippet: str
    score: float


class AskReply(Contract):
    message_type: ClassVar[str] = "dealbrain.ask-reply.v1"
    kind: ClassVar[MessageKind] = MessageKind.REPLY

    answer: str
    citations: list[Citation] = Field(default_factory=list)
    degraded: list[str] = Field(
        default_factory=list, description="Degradations applied, e.g. llm:extractive."
    )
    latency_ms: dict[str, float] = Field(
        default_factory=dict, description="Breakdown: retrieve, rerank, answer."
    )
    session_id: str | None = None
    retrieved: int = Field(0, ge=0, description="Chunks retrieved before reranking.")


class SummarizeSession(Contract):
    """Fold a conversation's older turns into a summary, off the request path."""

    message_type: ClassVar[str] = "dealbrain.session.summarize.v1"
    kind: ClassVar[MessageKind] = MessageKind.COMMAND

    tenant_id: str
    session_id: str
    through_turn: int = Field(
        ..., ge=0, description="Summarise turns up to and including this index."
    )


class RpcError(Contract):
    """Body of an error reply."""

    message_type: ClassVar[str] = "tradebus.rpc.error.v1"
    kind: ClassVar[MessageKind] = MessageKind.REPLY

    code: str
    message: str
    retryable: bool = False
