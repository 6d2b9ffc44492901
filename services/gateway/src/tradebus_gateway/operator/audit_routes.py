"""The audit log, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ..deps import Operator, State
from .access import operator_responses
from .audit import AuditLog
from .paging import Cursor, Limit, after_of, next_cursor

router = APIRouter(prefix="/audit")


class Actor(BaseModel):
    key_id: str = Field(..., description="The first 12 characters of the key's digest.")
    label: str


class AuditRecord(BaseModel):
    id: str
    at: datetime
    actor: Actor
    action: str = Field(..., examples=["parking.replay"])
    target: str
    details: dict[str, Any]
    outcome: Literal["ok", "refused", "failed"]


class AuditPage(BaseModel):
    items: list[AuditRecord]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


@router.get(
    "",
    response_model=AuditPage,
    summary="Operator writes and console logins, newest first",
    responses=operator_responses(422, 429, 503),
)
async def list_audit(
    state: State,
    _: Operator,
    action: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AuditPage:
    docs, last = await AuditLog(state.db).page(action=action, after=after_of(cursor), limit=limit)
    items = [AuditRecord.model_validate({**d, "id": d["_id"]}) for d in docs]
    return AuditPage(items=items, next_cursor=next_cursor(last))
