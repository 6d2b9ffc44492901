"""Running the handler: exactly once per message id when the endpoint uses the
inbox, and never past its time limit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from tradebus_contracts import Contract

from .context import MessageContext, _Publish
from .endpoint import Endpoint
from .errors import HandlerTimeout
from .inbox import Inbox, is_duplicate
from .metrics import QueueMetrics


@dataclass(slots=True)
class Dispatcher:
    endpoint: Endpoint
    inbox: Inbox | None
    publish: _Publish
    metrics: QueueMetrics

    def __post_init__(self) -> None:
        if self.endpoint.use_inbox and self.inbox is None:
            raise ValueError(f"{self.endpoint.queue} wants the inbox but the bus has none")

    async def __call__(self, payload: Contract, ctx: MessageContext) -> Any:
        limit = ctx.remaining_seconds()
        started = asyncio.get_running_loop().time()
        try:
            # The hard limit: past it the handler is cancelled where it awaits, and the
            # failure goes the usual way (retry, or park with reason `timeout`).
            async with asyncio.timeout(limit) as scope:
                if self.endpoint.use_inbox:
                    return await self._once(payload, ctx)
                return await self.endpoint.handler(payload, ctx)
        except TimeoutError as exc:
            if scope.expired():
                raise HandlerTimeout(
                    f"{self.endpoint.queue} handler ran past its {limit:.3g}s time limit"
                ) from exc
            raise
        finally:
            # (each delivery runs in its own task, so the bound context dies with it)
            self.metrics.handler.observe(asyncio.get_running_loop().time() - started)

    async def _once(self, payload: Contract, ctx: MessageContext) -> Any:
        inbox = self.inbox
        assert inbox is not None
        consumer, message_id = self.endpoint.queue, ctx.envelope.id
        if await inbox.seen(consumer, message_id):
            self.metrics.duplicate.inc()
            return None
        try:
            async with inbox.transaction() as session:
                ctx.session = session
                result = await self.endpoint.handler(payload, ctx)
                await inbox.record(consumer, message_id, session=session)
        except Exception as exc:
            if is_duplicate(exc):  # a concurrent redelivery won the race
                self.metrics.duplicate.inc()
                return None
            raise
        return result
