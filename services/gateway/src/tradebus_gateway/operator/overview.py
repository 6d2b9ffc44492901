"""One look at the platform: queues (depth, consumers, rates), services, alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..deps import Operator, State
from .access import operator_responses
from .broker import live_queues
from .overview_view import QueueKind, alert_item, queue_rows, services

router = APIRouter(prefix="/overview")

ALERTS_SHOWN = 100
RESOLVED_SHOWN_FOR = timedelta(hours=24)


class QueueOut(BaseModel):
    name: str
    kind: QueueKind
    ready: int
    unacked: int
    consumers: int
    publish_rate: float = Field(..., description="Messages per second, as the broker smooths it.")
    deliver_rate: float
    oldest_age_seconds: float | None = Field(
        None, description="Age of the oldest ready message, where the broker reports it."
    )


class ServiceOut(BaseModel):
    name: str
    consumers: int
    queues: list[str]


class AlertOut(BaseModel):
    rule: str
    state: Literal["firing", "resolved"]
    since: datetime | None
    summary: str
    subject: str = ""
    severity: str | None = None


class Overview(BaseModel):
    queues: list[QueueOut]
    services: list[ServiceOut]
    alerts: list[AlertOut]
    sampled_at: datetime


@router.get(
    "",
    response_model=Overview,
    summary="Queues, services and alerts at a glance",
    responses=operator_responses(429, 503),
)
async def overview(state: State, _: Operator) -> Overview:
    sampled_at = datetime.now(UTC)
    rows = await live_queues(
        state.bus.settings, retry_after=state.settings.unavailable_retry_after_seconds
    )
    queues = queue_rows(rows)
    query = {
        "$or": [
            {"phase": {"$in": ["firing", "clearing"]}},
            {"phase": "ok", "updated_at": {"$gte": sampled_at - RESOLVED_SHOWN_FOR}},
        ]
    }
    docs = await (
        state.db["alert_states"].find(query).sort("updated_at", -1).limit(ALERTS_SHOWN).to_list()
    )
    alerts = [a for a in (alert_item(d) for d in docs) if a is not None]
    return Overview.model_validate(
        {
            "queues": queues,
            "services": services(queues),
            "alerts": alerts,
            "sampled_at": sampled_at,
        }
    )
