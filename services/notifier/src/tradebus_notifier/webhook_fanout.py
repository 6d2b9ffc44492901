"""`notifier.webhook-fanout`: every event a tenant's subscriptions match becomes one
delivery (the record holds the CloudEvent) and one delivery job per subscription, so one
receiver's retries never hold another's."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

import structlog

from tradebus_contracts import Contract, DeliverWebhook, Envelope, WebhookTest
from tradebus_messaging import MessageContext
from tradebus_storage import DeliveryLog, WebhookRepository, WebhookSubscription

from .domain.cloudevents import cloud_event
from .domain.patterns import matches_any
from .webhook_delivery import job_message_id

log = structlog.get_logger("tradebus.notifier.webhooks")


class Publish(Protocol):
    def __call__(
        self,
        payload: Contract,
        *,
        tenant_id: str | None = ...,
        subject: str | None = ...,
        correlation_id: str | None = ...,
        traceparent: str | None = ...,
        message_id: str | None = ...,
    ) -> Awaitable[Envelope]: ...


class WebhookFanout:
    def __init__(
        self, *, subscriptions: WebhookRepository, deliveries: DeliveryLog, publish: Publish
    ) -> None:
        self.subscriptions = subscriptions
        self.deliveries = deliveries
        # `Bus.publish`, not `ctx.publish`: a job must not inherit the event's task id,
        # or a parked delivery job would fail the task the event was about.
        self.publish = publish

    async def __call__(self, event: Contract, ctx: MessageContext) -> None:
        """Idempotency: the delivery id is derived from the event id and the subscription
        id and the record is created only if absent; the job's message id is derived from
        the delivery, its generation and attempt 1. A re-fanout after a crash finds the
        records and re-publishes the same jobs, which the deliverer's compare-and-set on
        attempts turns into no-ops once the first copy ran."""
        tenant_id = ctx.tenant_id
        if not tenant_id:
            return  # platform events without a tenant have no subscribers
        targets = await self._targets(tenant_id, event, ctx.envelope.type)
        if not targets:
            return
        body = cloud_event(ctx.envelope, event)
        for sub in targets:
            delivery = await self.deliveries.open(
                tenant_id=tenant_id, subscription_id=sub.id, event=body
            )
            await self.publish(
                DeliverWebhook(delivery_id=delivery.id, subscription_id=sub.id),
                tenant_id=tenant_id,
                subject=sub.id,
                correlation_id=ctx.envelope.correlation_id,
                traceparent=ctx.envelope.traceparent,
                message_id=job_message_id(delivery.id, 0, 1),
            )
        log.debug("event fanned out", event_type=ctx.envelope.type, deliveries=len(targets))

    async def _targets(
        self, tenant_id: str, event: Contract, event_type: str
    ) -> list[WebhookSubscription]:
        if isinstance(event, WebhookTest):  # a test goes to the one subscription asked
            sub = await self.subscriptions.get(tenant_id, event.subscription_id)
            return [sub] if sub is not None and sub.enabled else []
        subs = await self.subscriptions.enabled_for(tenant_id)
        return [s for s in subs if matches_any(s.event_types, event_type)]
