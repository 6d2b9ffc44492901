"""Scheduled jobs as the notifier runs them: each schedule's cron, time zone, whether it
is enabled, its last run (from the run records every notifier replica claims slots in)
and its next slot. Read-only. The list is the deployment's `TRADEBUS_SCHEDULES`, the
same variable the notifier reads; payloads are not shown (they may name a tenant)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from tradebus_storage import ScheduleRun, ScheduleRuns, ScheduleSettings, ScheduleSpec

from ..deps import Operator, State
from ..operator.access import operator_responses

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])


class LastRun(BaseModel):
    slot: datetime = Field(..., description="The instant the schedule named (UTC).")
    status: Literal["claimed", "published", "abandoned"] = Field(
        ...,
        description="`claimed`: a replica took the slot and is publishing it; `published`: "
        "the command is with the broker; `abandoned`: it could not be published in time.",
    )
    fired_at: datetime | None = Field(None, description="When the command was published.")
    catch_up: bool = Field(
        False, description="Fired at start-up for a slot missed while every replica was down."
    )


class ScheduleOut(BaseModel):
    name: str = Field(..., examples=["kb-check"])
    cron: str = Field(..., description="Five fields, or six with seconds first.")
    timezone: str = Field(..., examples=["UTC"])
    command: str = Field(..., description="The command published at each slot.")
    enabled: bool
    last_run: LastRun | None = Field(None, description="The newest slot claimed; null if none.")
    next_run: datetime | None = Field(None, description="The next slot (UTC); null if disabled.")


class ScheduleList(BaseModel):
    items: list[ScheduleOut]
    catch_up_seconds: float = Field(
        ...,
        description="A slot missed while every replica was down runs once at start-up "
        "if it is at most this old.",
    )


EXAMPLE = {
    "items": [
        {
            "name": "kb-check",
            "cron": "30 2 * * *",
            "timezone": "UTC",
            "command": "omnirag.kb.check.v1",
            "enabled": True,
            "last_run": {
                "slot": "2026-12-02T02:30:00Z",
                "status": "published",
                "fired_at": "2026-12-02T02:30:00.412000Z",
                "catch_up": False,
            },
            "next_run": "2026-12-03T02:30:00Z",
        },
        {
            "name": "sweeps",
            "cron": "15 * * * *",
            "timezone": "UTC",
            "command": "notifier.sweeps.run.v1",
            "enabled": True,
            "last_run": None,
            "next_run": "2026-12-02T17:15:00Z",
        },
    ],
    "catch_up_seconds": 3600.0,
}


async def get_schedules(request: Request) -> ScheduleSettings:
    schedules: ScheduleSettings = request.app.state.schedules
    return schedules


Schedules = Annotated[ScheduleSettings, Depends(get_schedules)]


def _out(spec: ScheduleSpec, run: ScheduleRun | None, now: datetime) -> ScheduleOut:
    return ScheduleOut(
        name=spec.name,
        cron=spec.cron,
        timezone=spec.timezone,
        command=spec.command,
        enabled=spec.enabled,
        last_run=None
        if run is None
        else LastRun(
            slot=run.slot,
            status=run.status,
            fired_at=run.fired_at,
            catch_up=run.catch_up,
        ),
        next_run=spec.next_slot(now) if spec.enabled else None,
    )


@router.get(
    "",
    response_model=ScheduleList,
    summary="Scheduled jobs, their last and next runs",
    responses={
        200: {
            "description": "Every configured schedule, in configuration order",
            "content": {"application/json": {"example": EXAMPLE}},
        },
        **operator_responses(429, 503),
    },
)
async def list_schedules(state: State, _: Operator, schedules: Schedules) -> ScheduleList:
    """The deployment's schedules, for operators (they are the platform's jobs; a job
    such as the knowledge-base check then runs per tenant)."""
    runs = ScheduleRuns(state.db)
    now = datetime.now(UTC)
    items = [_out(spec, await runs.last_run(spec.name), now) for spec in schedules.specs()]
    return ScheduleList(items=items, catch_up_seconds=schedules.catch_up_seconds)
