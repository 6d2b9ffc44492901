"""Declared topology against the live broker: what should exist, what differs."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from fastapi import APIRouter
from pydantic import BaseModel, Field

from tradebus_messaging.queue_stats import vhost_of
from tradebus_messaging.verify import fetch_live

from ..deps import Operator, State
from .access import operator_responses
from .broker import unavailable
from .topology_check import declared_items, drift_items, expected_topology

router = APIRouter(prefix="/topology")

Kind = Literal["exchange", "queue", "binding"]


class Declared(BaseModel):
    kind: Kind
    name: str
    arguments: dict[str, Any]


class DriftOut(BaseModel):
    kind: Kind
    name: str
    problem: Literal["missing", "different", "unexpected"]
    detail: str = Field(..., description="The difference, for a person.")
    expected: Any = None
    actual: Any = None


class TopologyOut(BaseModel):
    declared: list[Declared]
    drift: list[DriftOut]
    ok: bool = Field(..., description="True when nothing drifted.")


@router.get(
    "",
    response_model=TopologyOut,
    summary="The declared topology and how the live broker differs from it",
    responses=operator_responses(429, 503),
)
async def topology(state: State, _: Operator) -> TopologyOut:
    bus = state.bus.settings
    try:
        live = await fetch_live(bus.management_url, vhost_of(bus.url))
    except httpx.HTTPError as exc:
        retry = state.settings.unavailable_retry_after_seconds
        raise unavailable("broker management API unavailable", retry) from exc
    expected = expected_topology(live, bus, state.settings.operator_endpoints)
    drift = drift_items(expected, live)
    return TopologyOut.model_validate(
        {"declared": declared_items(expected), "drift": drift, "ok": not drift}
    )
