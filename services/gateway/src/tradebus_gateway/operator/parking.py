"""Parking lots: what is parked and why, replay, purge (with the lot's name typed
again). Every replay and purge is audited, refused ones included."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ..deps import Operator, State
from ..errors import ApiError, describe
from .access import Act, audited, operator_responses
from .paging import Limit
from .parking_lots import ParkingLots
from .parking_models import (
    Lots,
    ParkedOut,
    ParkedPage,
    PurgeBody,
    Purged,
    ReplayBody,
    Replayed,
)

router = APIRouter(prefix="/parking")

LotPath = Annotated[
    str,
    Path(
        min_length=5,
        max_length=255,
        pattern=r"^[A-Za-z0-9._:-]+\.dlq$",
        description="A parking lot, e.g. `omnirag-ingest.ingest.dlq`.",
    ),
]
MISMATCH = describe(
    "Invalid body, or (purge) `confirm` is not the lot's name",
    "confirm_mismatch",
    "confirm must repeat the parking lot's name",
)


@router.get(
    "",
    response_model=Lots,
    summary="Every parking lot with its count, grouped by reason and exception",
    responses=operator_responses(429, 503),
)
async def list_lots(state: State, _: Operator) -> Lots:
    return Lots.model_validate({"lots": await ParkingLots(state).summaries()})


@router.get(
    "/{lot}/messages",
    response_model=ParkedPage,
    summary="Parked messages of one lot, oldest first",
    responses=operator_responses(404, 422, 429, 503),
)
async def list_messages(
    lot: LotPath,
    state: State,
    _: Operator,
    reason: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    limit: Limit = 50,
) -> ParkedPage:
    items = await ParkingLots(state).messages(lot, reason=reason, limit=limit)
    return ParkedPage(items=[ParkedOut.model_validate(i) for i in items])


@router.post(
    "/{lot}/replay",
    response_model=Replayed,
    summary="Send parked messages back to their queue (by id, by reason, or all)",
    description="Attempts start again; a replayed message whose task failed revives it. "
    "A message parked with only an excerpt of its body (too large) is never replayed. "
    "One call replays at most `OPERATOR_REPLAY_LIMIT` (1000) messages; `limit_reached` "
    "says the selection may hold more.",
    responses=operator_responses(404, 422, 429, 503),
)
async def replay(
    lot: LotPath,
    body: ReplayBody,
    state: State,
    act: Annotated[Act, Depends(audited("parking.replay"))],
) -> Replayed:
    selection = body.selection()
    async with act.attempt(lot, **selection.details()) as details:
        count, left = await ParkingLots(state).replay(lot, selection)
        details["replayed"] = count
    return Replayed(
        replayed=count,
        limit_reached=count >= state.settings.operator_replay_limit,
        left_in_lot=left,
    )


@router.post(
    "/{lot}/purge",
    response_model=Purged,
    summary="Delete parked messages for good (by id, by reason, or all)",
    responses={**operator_responses(404, 429, 503), 422: MISMATCH},
)
async def purge(
    lot: LotPath,
    body: PurgeBody,
    state: State,
    act: Annotated[Act, Depends(audited("parking.purge"))],
) -> Purged:
    selection = body.selection()
    async with act.attempt(lot, **selection.details()) as details:
        lots = ParkingLots(state)
        await lots.known(lot)  # an unknown lot is 404 whatever was typed
        if body.confirm != lot:
            raise ApiError(422, "confirm_mismatch", "confirm must repeat the parking lot's name")
        count = await lots.purge(lot, selection)
        details["purged"] = count
    return Purged(purged=count)
