"""Retrieval quality of the caller's tenant: the latest recall evaluation (dealbrain's
recall patrol) and its history, newest first. Read-only; another tenant's runs are
never listed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tradebus_storage import InvalidCursor, RagQualityRepository, RecallRun

from ..deps import State, Tenant
from ..errors import ApiError, responses
from .models import IsoDateTime

router = APIRouter(prefix="/v1/rag", tags=["quality"])

RUN_EXAMPLE = {
    "at": "2026-12-02T03:00:41.512000Z",
    "slot": "2026-12-02T03:00:00Z",
    "k": 5,
    "recall_at_k": 0.92,
    "mrr": 0.81,
    "samples": 50,
    "method": "offline",
    "embedder": "multilingual-e5-small-q4",
    "threshold": 0.7,
    "below_threshold": False,
}


class RecallRunOut(BaseModel):
    at: datetime = Field(..., description="When the evaluation finished.")
    slot: datetime = Field(..., description="The schedule slot it ran for.")
    k: int = Field(..., description="A sampled chunk counts as found within the top k.")
    recall_at_k: float = Field(..., ge=0, le=1, description="Share of sampled chunks found.")
    mrr: float = Field(..., ge=0, le=1, description="Mean reciprocal rank (0: not retrieved).")
    samples: int = Field(..., description="Questions asked, one per sampled chunk.")
    method: Literal["offline", "llm"] = Field(
        ..., description="`llm`: questions written by the LLM; `offline`: keyword queries."
    )
    embedder: str = Field(..., description="The embedding model searched with.")
    threshold: float | None = Field(None, description="The configured recall@k floor.")
    below_threshold: bool = Field(False, description="recall@k fell under the threshold.")

    @classmethod
    def of(cls, run: RecallRun) -> RecallRunOut:
        return cls(
            at=run.at,
            slot=run.slot,
            k=run.k,
            recall_at_k=run.recall_at_k,
            mrr=run.mrr,
            samples=run.samples,
            method="llm" if run.method == "llm" else "offline",
            embedder=run.embedder,
            threshold=run.threshold,
            below_threshold=run.below_threshold,
        )


class QualityOut(BaseModel):
    latest: RecallRunOut | None = Field(
        ..., description="The newest evaluation, whatever the time bounds; null before any."
    )
    history: list[RecallRunOut] = Field(
        ..., description="Evaluations within the bounds, newest first."
    )
    next_cursor: str | None = Field(None, description="Pass as `cursor` for older runs.")


EXAMPLE = {
    "latest": RUN_EXAMPLE,
    "history": [
        RUN_EXAMPLE,
        {
            **RUN_EXAMPLE,
            "at": "2026-12-01T03:00:39.004000Z",
            "slot": "2026-12-01T03:00:00Z",
            "recall_at_k": 0.64,
            "mrr": 0.55,
            "below_threshold": True,
        },
    ],
    "next_cursor": None,
}


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.get(
    "/quality",
    response_model=QualityOut,
    summary="Retrieval recall@k and MRR of the tenant's knowledge base over time",
    description="The recall patrol samples chunks of the knowledge base on a schedule, asks "
    "a question made from each through the same retrieval as `POST /v1/ask`, and records "
    "how many it found within the top k (recall@k) and how high (MRR). Times without a "
    "zone are UTC.",
    responses={
        200: {
            "description": "The latest evaluation and a page of the history",
            "content": {"application/json": {"example": EXAMPLE}},
        },
        **responses(401, 422, 429, 503),
    },
)
async def get_quality(
    state: State,
    tenant: Tenant,
    since: Annotated[
        IsoDateTime | None,
        Query(
            description="Only runs that finished at or after this time.",
            examples=["2026-11-01T00:00:00Z"],
        ),
    ] = None,
    until: Annotated[
        IsoDateTime | None, Query(description="Only runs that finished before this time.")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> QualityOut:
    since, until = _utc(since), _utc(until)  # an empty range is an empty history
    repo = RagQualityRepository(state.db)
    try:
        runs, next_cursor = await repo.history(
            tenant.tenant_id, since=since, until=until, cursor=cursor, limit=limit
        )
    except InvalidCursor as exc:
        raise ApiError(422, "invalid_cursor", str(exc)) from None
    latest = await repo.latest(tenant.tenant_id)
    return QualityOut(
        latest=None if latest is None else RecallRunOut.of(latest),
        history=[RecallRunOut.of(r) for r in runs],
        next_cursor=next_cursor,
    )
