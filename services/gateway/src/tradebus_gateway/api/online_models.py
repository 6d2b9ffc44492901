"""Request and response bodies of the online endpoints (dealbrain, shadowhunter, nexus).

Field limits are the contracts' own (a unit test keeps them equal), so a request valid
here is a valid RPC request. Nested reply parts reuse the contracts' models, as TaskOut
does. There is no tenant field anywhere: the tenant is the API key's."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, StrictBool

from tradebus_contracts import Citation, Evidence, Lead, RubricFactor


def _json_number(value: Any) -> Any:
    # As JSON Schema's `integer`: 5 and 5.0, not "5" or true (pydantic's lax mode would
    # take both, strict mode would refuse 5.0).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a valid integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_number)]

SESSION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"

_TOP_K = Field(5, ge=1, le=50, description="Chunks to retrieve before reranking.")
_FILTERS: Any = Field(
    default_factory=dict,
    description="Only documents whose metadata has these values.",
    examples=[{"region": "EU"}],
)


class AskIn(BaseModel):
    question: str = Field(
        ..., min_length=1, max_length=4000, examples=["Who pays import duty under DAP?"]
    )
    top_k: JsonInt = _TOP_K
    filters: dict[str, str] = _FILTERS
    session_id: str | None = Field(
        None,
        pattern=SESSION_ID_PATTERN,
        description="Continue this conversation (same as posting to its messages).",
    )


class SessionMessageIn(BaseModel):
    content: str = Field(
        ..., min_length=1, max_length=4000, examples=["And who arranges the export clearance?"]
    )
    top_k: JsonInt = _TOP_K
    filters: dict[str, str] = _FILTERS


class AskOut(BaseModel):
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    degraded: list[str] = Field(
        default_factory=list, description="Degradations applied, e.g. `llm:extractive`."
    )
    latency_ms: dict[str, float] = Field(
        default_factory=dict, description="Time per stage: retrieve, rerank, answer."
    )
    session_id: str | None = Field(None, description="The conversation this turn belongs to.")
    retrieved: int = Field(0, ge=0, description="Chunks retrieved before reranking.")


class HuntIn(BaseModel):
    query: str = Field(
        ..., min_length=2, max_length=500, examples=["cold-rolled steel coil importers"]
    )
    country: str | None = Field(None, max_length=64, examples=["Vietnam"])
    industry: str | None = Field(None, max_length=128, examples=["steel"])
    limit: JsonInt = Field(10, ge=1, le=50, description="Most leads to return.")


class HuntOut(BaseModel):
    leads: list[Lead] = Field(default_factory=list, description="Best first.")
    partial: bool = Field(False, description="True when a search provider failed or timed out.")
    providers: dict[str, str] = Field(
        default_factory=dict,
        description="Outcome per search provider: ok, timeout, error, circuit_open.",
    )
    degraded: list[str] = Field(default_factory=list)
    latency_ms: dict[str, float] = Field(default_factory=dict)


class AssessIn(BaseModel):
    counterparty: str = Field(..., min_length=2, max_length=300, examples=["Hai Phong Steel JSC"])
    country: str | None = Field(None, max_length=64, examples=["Vietnam"])
    website: str | None = Field(None, max_length=500, examples=["https://haiphongsteel.vn"])
    rationale: StrictBool = Field(True, description="Ask for a written rationale (an LLM call).")


class AssessOut(BaseModel):
    counterparty: str
    score: float = Field(..., ge=0, le=100, description="Sum of the factors' contributions.")
    band: Literal["low", "medium", "high"] = Field(
        ..., description="Confidence band: high >= 70, medium >= 40."
    )
    factors: list[RubricFactor] = Field(..., description="The scoring rubric, factor by factor.")
    evidence: list[Evidence] = Field(default_factory=list)
    rationale: str | None = None
    partial: bool = False
    degraded: list[str] = Field(default_factory=list)
    latency_ms: dict[str, float] = Field(default_factory=dict)
