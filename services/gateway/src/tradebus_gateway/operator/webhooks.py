"""Webhook subscriptions of every tenant with their latest deliveries (never a secret)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ..deps import Operator, State
from .access import operator_responses
from .paging import Cursor, Limit, after_of, next_cursor

router = APIRouter(prefix="/webhooks")

RECENT = 5


class DeliveryOut(BaseModel):
    event_id: str
    status: str = Field(..., examples=["delivered"])
    attempt: int
    at: datetime
    response_status: int | None = None


class WebhookOut(BaseModel):
    id: str
    tenant_id: str
    url: str
    events: list[str]
    disabled: bool
    disabled_reason: str | None = None
    recent_deliveries: list[DeliveryOut]


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


@router.get(
    "",
    response_model=WebhookPage,
    summary="Webhook subscriptions of every tenant, with their latest deliveries",
    responses=operator_responses(422, 429, 503),
)
async def list_webhooks(
    state: State,
    _: Operator,
    tenant: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> WebhookPage:
    query: dict[str, Any] = {} if tenant is None else {"tenant_id": tenant}
    after = after_of(cursor)
    if after is not None:
        query["_id"] = {"$lt": after}
    subscriptions = state.db["webhook_subscriptions"]
    docs = await subscriptions.find(query).sort("_id", -1).limit(limit + 1).to_list()
    items = [await _item(state, d) for d in docs[:limit]]
    last = items[-1].id if len(docs) > limit else None
    return WebhookPage(items=items, next_cursor=next_cursor(last))


async def _item(state: State, doc: dict[str, Any]) -> WebhookOut:
    deliveries = state.db["webhook_deliveries"]
    query = {"tenant_id": doc["tenant_id"], "subscription_id": doc["_id"]}
    recent = await deliveries.find(query).sort("seq", -1).limit(RECENT).to_list()
    return WebhookOut(
        id=doc["_id"],
        tenant_id=doc["tenant_id"],
        url=doc["url"],
        events=list(doc.get("event_types") or []),
        disabled=not doc.get("enabled", True),
        disabled_reason=doc.get("disabled_reason"),
        recent_deliveries=[
            DeliveryOut(
                event_id=str(d["event_id"]),
                status=str(d.get("state")),
                attempt=int(d.get("attempts") or 0),
                at=d.get("updated_at") or d["created_at"],
                response_status=d.get("response_status"),
            )
            for d in recent
        ],
    )
