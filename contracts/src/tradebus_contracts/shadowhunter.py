"""shadowhunter: lead hunting and nexus (counterparty) assessment, both RPC."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from ._base import Contract, MessageKind


class HuntRequest(Contract):
    message_type: ClassVar[str] = "shadowhunter.hunt.v1"
    kind: ClassVar[MessageKind] = MessageKind.REQUEST

    tenant_id: str
    query: str = Field(
        ..., min_length=2, max_length=500, examples=["cold-rolled steel coil importers"]
    )
    country: str | None = Field(None, max_length=64, examples=["Vietnam"])
    industry: str | None = Field(None, max_length=128, examples=["steel"])
    limit: int = Field(10, ge=1, le=50)


class LeadSource(BaseModel):
    provider: str
    url: str | None = None
    title: str
    snippet: str = ""


class Lead(BaseModel):
    name: str = Field(..., description="Best name for the organisation behind the results.")
    url: str | None = Field(None, description="Canonical site when one was found.")
    score: float = Field(..., ge=0, le=1)
    factors: dict[str, float] = Field(
        default_factory=dict, description="Score components, each 0..1, before weighting."
    )
    sources: list[LeadSource] = Field(default_factory=list)


class HuntReply(Contract):
    message_type: ClassVar[str] = "shadowhunter.hunt-reply.v1"
    kind: ClassVar[MessageKind] = MessageKind.REPLY

    leads: list[Lead] = Field(default_factory=list)
    partial: bool = Field(False, description="True when a provider failed or timed out.")
    providers: dict[str, str] = Field(
        default_factory=dict,
        description="Outcome per search provider: ok, timeout, error, circuit_open, busy.",
    )
    degraded: list[str] = Field(default_factory=list)
    latency_ms: dict[str, float] = Field(default_factory=dict)


class AssessRequest(Contract):
    message_type: ClassVar[str] = "shadowhunter.assess.v1"
    kind: ClassVar[MessageKind] = MessageKind.REQUEST

    tenant_id: str
    counterparty: str = Field(..., min_length=2, max_length=300, examples=["Hai Phong Steel JSC"])
    country: str | None = Field(None, max_length=64)
    website: str | None = Field(None, max_length=500)
    rationale: bool = Field(True, description="Ask the LLM for a written rationale.")


class Evidence(BaseModel):
    source: Literal["search", "knowledge_base"]
    provider: str
    title: str
    snippet: str
    url: str | None = None
    document_id: str | None = None


class RubricFactor(BaseModel):
    name: str
    weight: float = Field(..., ge=0, le=1)
    value: float = Field(..., ge=0, le=1, description="How strongly the evidence shows it.")
    contribution: float = Field(..., description="weight * value * 100, points of the score.")
    explanation: str


class AssessReply(Contract):
    message_type: ClassVar[str] = "shadowhunter.assess-reply.v1"
    kind: ClassVar[MessageKind] = MessageKind.REPLY

    counterparty: str
    score: float = Field(..., ge=0, le=100, description="Sum of factor contributions.")
    band: Literal["low", "medium", "high"] = Field(
        ..., description="Confidence band of the nexus: high >= 70, medium >= 40."
    )
    factors: list[RubricFactor]
    evidence: list[Evidence] = Field(default_factory=list)
    rationale: str | None = None
    partial: bool = False
    degraded: list[str] = Field(default_factory=list)
    latency_ms: dict[str, float] = Field(default_factory=dict)
