"""Hand-written fakes of the deliverer's ports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from tradebus_contracts import Contract, DeliverWebhook, Envelope
from tradebus_messaging import MessageContext
from tradebus_notifier.domain.ports import PinnedAddress
from tradebus_storage import Attempt, Delivery, DeliveryState, WebhookSubscription


class FakeSubscriptions:
    def __init__(self, sub: WebhookSubscription) -> None:
        self.subs = {sub.id: sub}
        self.announced: list[str] = []

    async def by_id(self, sid: str) -> WebhookSubscription | None:
        return self.subs.get(sid)

    async def record_success(self, sid: str) -> None:
        self._set(sid, consecutive_failures=0, failing_since=None)

    async def record_failure(self, sid: str) -> WebhookSubscription:
        sub = self.subs[sid]
        return self._set(
            sid,
            consecutive_failures=sub.consecutive_failures + 1,
            failing_since=sub.failing_since or datetime.now(UTC),
        )

    async def disable(self, sid: str, reason: str) -> WebhookSubscription | None:
        if not self.subs[sid].enabled:
            return None
        return self._set(
            sid,
            enabled=False,
            disabled_reason=reason,
            disabled_at=datetime.now(UTC),
            disabled_announced=False,
        )

    async def mark_announced(self, sid: str) -> None:
        self.announced.append(sid)
        self._set(sid, disabled_announced=True)

    def _set(self, sid: str, **fields: Any) -> WebhookSubscription:
        self.subs[sid] = self.subs[sid].model_copy(update=fields)
        return self.subs[sid]


class FakeDeliveries:
    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.recorded: list[tuple[Attempt, DeliveryState]] = []

    async def by_id(self, did: str) -> Delivery | None:
        return self.delivery if did == self.delivery.id else None

    async def record(
        self, delivery: Delivery, attempt: Attempt, *, state: DeliveryState, next_attempt_at=None
    ) -> bool:
        current = self.delivery
        if (current.generation, current.attempts) != (delivery.generation, attempt.attempt - 1):
            return False
        self.recorded.append((attempt, state))
        self.delivery = current.model_copy(update={"attempts": attempt.attempt, "state": state})
        return True


class FakeGuard:
    async def resolve(self, url: str) -> PinnedAddress:
        return PinnedAddress("https", "hooks.example", 443, "93.184.215.14")


class FakeScheduler:
    def __init__(self) -> None:
        self.scheduled: list[tuple[DeliverWebhook, int]] = []

    async def schedule(self, job: DeliverWebhook, *, delay_seconds: int, causation: Envelope):
        self.scheduled.append((job, delay_seconds))


def context(job: DeliverWebhook, published: list[Contract]) -> MessageContext:
    async def publish(payload: Contract, **_: Any) -> Envelope:
        published.append(payload)
        return Envelope(type=payload.message_type, source="test")

    return MessageContext(
        envelope=Envelope(type=job.message_type, source="test", tenant_id="acme"),
        queue="notifier.webhook-deliver",
        attempt=1,
        redelivered=False,
        deadline=None,
        session=None,
        _publish=publish,
    )


def answering(*statuses: int, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """A transport factory whose receiver answers `statuses` in turn (the last repeats)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(statuses[min(len(seen), len(statuses)) - 1], headers=headers)

    return (lambda address: httpx.MockTransport(handler)), seen
