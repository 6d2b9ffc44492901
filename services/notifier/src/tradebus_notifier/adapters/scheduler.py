"""Delayed delivery jobs on the broker's delay network (the runtime's binary TTL levels):
the job waits in the broker and comes back to the deliver queue when its time is up;
nothing sleeps, nothing holds a prefetch slot meanwhile, and a restart loses nothing."""

from __future__ import annotations

import uuid

from tradebus_contracts import DeliverWebhook, Envelope
from tradebus_messaging import Bus


class DelayNetworkScheduler:
    def __init__(self, bus: Bus, *, queue: str) -> None:
        self._bus = bus
        self._queue = queue

    async def schedule(
        self, job: DeliverWebhook, *, delay_seconds: int, causation: Envelope
    ) -> None:
        # A fresh message id: each attempt is a message of its own (the delivery's
        # `webhook-id`, which receivers dedupe on, stays the same).
        await self._bus.publish_delayed(
            job,
            queue=self._queue,
            delay_seconds=delay_seconds,
            causation=causation,
            message_id=uuid.uuid4().hex,
        )
