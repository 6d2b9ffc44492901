"""What a handler learns about the message it handles, and how it publishes follow-ups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tradebus_contracts import Contract, Envelope


class _Publish(Protocol):
    def __call__(
        self,
        payload: Contract,
        *,
        tenant_id: str | None = ...,
        subject: str | None = ...,
        causation: Envelope | None = ...,
        message_id: str | None = ...,
    ) -> Awaitable[Envelope]: ...


@dataclass(slots=True)
class MessageContext:
    envelope: Envelope
    queue: str
    attempt: int
    redelivered: bool
    deadline: datetime | None
    session: Any | None  # a MongoDB client session when the inbox runs a transaction
    _publish: _Publish

    @property
    def tenant_id(self) -> str | None:
        return self.envelope.tenant_id

    async def publish(
        self, payload: Contract, *, subject: str | None = None, message_id: str | None = None
    ) -> Envelope:
        """Publish a message caused by this one (same tenant, correlation and trace)."""
        return await self._publish(
            payload, subject=subject, causation=self.envelope, message_id=message_id
        )


Handler = Callable[[Any, MessageContext], Awaitable[Any]]
