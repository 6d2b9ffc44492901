"""The base class every tradebus payload derives from."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class MessageKind(StrEnum):
    COMMAND = "command"  # work for exactly one owner, on tradebus.commands
    EVENT = "event"  # a fact anyone may subscribe to, on tradebus.events
    REQUEST = "request"  # RPC request, answered on the caller's reply-to
    REPLY = "reply"  # RPC reply


class Contract(BaseModel):
    """A message payload. Subclasses set ``message_type`` and ``kind``.

    Unknown fields are ignored rather than rejected: within one version changes
    are additive, so an older consumer must accept a newer producer's payload.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    message_type: ClassVar[str]
    kind: ClassVar[MessageKind]
