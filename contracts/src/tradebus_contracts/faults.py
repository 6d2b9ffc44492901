"""Operational facts about the bus itself."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from ._base import Contract, MessageKind

FaultReason = Literal[
    "permanent",
    "retries_exhausted",
    "malformed",
    "too_large",
    "unknown_type",
    "delivery_limit",
    "timeout",
]


class MessageFaulted(Contract):
    """A message was parked in its queue's parking lot (`<queue>.dlq`)."""

    message_type: ClassVar[str] = "tradebus.message.faulted.v1"
    kind: ClassVar[MessageKind] = MessageKind.EVENT

    message_id: str = Field(..., description="Id of the parked message.")
    faulted_type: str | None = Field(None, description="Type of the parked message, when known.")
    queue: str = Field(..., description="Queue whose handler failed.")
    service: str
    host: str
    exception_type: str
    exception_message: str
    attempts: int = Field(..., ge=0)
    original_exchange: str
    original_routing_key: str
    first_failure_at: datetime
    last_failure_at: datetime
    reason: FaultReason
    tenant_id: str | None = None
    correlation_id: str | None = None
    task_id: str | None = Field(
        None, description="Task the parked message worked on; it has been (or will be) failed."
    )
