"""Bodies and answers of the parking routes. A selection is exactly one of: message
ids, a reason, or everything; each form forbids the others' fields, so the schema
itself says "exactly one"."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .parking_lots import Selection

MessageIds = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=200)]],
    Field(min_length=1, max_length=1000, description="Parked messages' ids."),
]
Reason = Annotated[str, Field(min_length=1, max_length=100, examples=["retries_exhausted"])]
LotName = Annotated[
    str, Field(min_length=1, max_length=255, examples=["omnirag-ingest.ingest.dlq"])
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ByIds(_Strict):
    message_ids: MessageIds

    def selection(self) -> Selection:
        return Selection(message_ids=frozenset(self.message_ids))


class ByReason(_Strict):
    reason: Reason

    def selection(self) -> Selection:
        return Selection(reason=self.reason)


class All(_Strict):
    all: Literal[True]

    def selection(self) -> Selection:
        return Selection()


ReplayBody = ByIds | ByReason | All


class PurgeByIds(ByIds):
    confirm: LotName = Field(..., description="The parking lot's name, typed again.")


class PurgeByReason(ByReason):
    confirm: LotName = Field(..., description="The parking lot's name, typed again.")


class PurgeAll(All):
    confirm: LotName = Field(..., description="The parking lot's name, typed again.")


PurgeBody = PurgeByIds | PurgeByReason | PurgeAll


class Group(BaseModel):
    reason: str
    exception: str
    count: int


class Lot(BaseModel):
    queue: str = Field(..., description="The parking lot.", examples=["omnirag-ingest.ingest.dlq"])
    source: str = Field(..., description="The endpoint whose failures it holds.")
    count: int = Field(..., description="Messages parked now.")
    groups: list[Group] = Field(..., description="By reason and exception, largest first.")
    scanned: int = Field(..., description="Messages the groups were counted from.")


class Lots(BaseModel):
    lots: list[Lot]


class ParkedOut(BaseModel):
    message_id: str | None
    type: str | None
    tenant_id: str | None
    task_id: str | None
    reason: str
    exception: str
    message: str = Field(..., description="The failure, for a person.")
    parked_at: str | None
    attempts: int
    headers: dict[str, Any]
    body_preview: str = Field(..., description="At most 2 KiB of the body, as text.")


class ParkedPage(BaseModel):
    items: list[ParkedOut]
    next_cursor: str | None = Field(None, description="Always null: `limit` bounds the list.")


class Replayed(BaseModel):
    replayed: int
    limit_reached: bool = Field(
        False,
        description="The call replayed as many as one call may (`OPERATOR_REPLAY_LIMIT`): "
        "call again for the rest of the selection.",
    )
    left_in_lot: int = Field(0, description="Messages still parked in the lot, any reason.")


class Purged(BaseModel):
    purged: int
