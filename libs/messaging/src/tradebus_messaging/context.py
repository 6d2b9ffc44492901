"""What a handler learns about the message it handles, and how it publishes follow-ups."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    replayed: bool = False  # sent back from the parking lot by an operator
    # the queue the delivery came from: a fair endpoint's shard, else `queue`
    lane: str = ""
    # The handler's time budget (the endpoint's limit, or less when a deadline is
    # nearer); past it the handler is cancelled.
    time_limit: float | None = None
    _last_attempt: bool = False
    _parks: Callable[[BaseException], bool] | None = None
    _started: float = field(default_factory=time.monotonic)

    @property
    def is_last_attempt(self) -> bool:
        """True when a failure now parks the message (no retry follows), whatever
        the error; see `parks` for a specific error (outages retry regardless)."""
        return self._last_attempt

    def parks(self, exc: BaseException) -> bool:
        """Whether raising `exc` from the handler sends the message to the parking
        lot (a permanent error, or the last attempt and not an outage)."""
        return self._parks(exc) if self._parks is not None else True

    def remaining_seconds(self) -> float | None:
        """Seconds left before the hard time limit (or the request's deadline)."""
        limits = []
        if self.time_limit is not None:
            limits.append(self.time_limit - (time.monotonic() - self._started))
        if self.deadline is not None:
            limits.append((self.deadline - datetime.now(UTC)).total_seconds())
        return max(0.0, min(limits)) if limits else None

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
