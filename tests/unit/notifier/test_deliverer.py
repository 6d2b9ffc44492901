"""The deliverer's decisions, with fakes for storage, the guard, the receiver and the
delay network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from standardwebhooks.webhooks import Webhook

from tradebus_contracts import Contract, DeliverWebhook, WebhookDisabled
from tradebus_notifier.domain.schedule import RetrySchedule
from tradebus_notifier.gates import Gates
from tradebus_notifier.webhook_delivery import DeliveryPolicy, WebhookDeliverer
from tradebus_storage import Delivery, DeliveryState, WebhookSubscription, new_signing_secret

from .fakes import FakeDeliveries, FakeGuard, FakeScheduler, FakeSubscriptions, answering, context

NOW = datetime.now(UTC)
SECRET = new_signing_secret()


def subscription() -> WebhookSubscription:
    return WebhookSubscription.model_validate(
        {
            "id": "wh_1",
            "tenant_id": "acme",
            "url": "https://hooks.example/tradebus",
            "event_types": ["#"],
            "secrets": [{"value": SECRET, "created_at": NOW}],
            "created_at": NOW,
            "updated_at": NOW,
        }
    )


def delivery(**fields) -> Delivery:  # type: ignore[no-untyped-def]
    return Delivery.model_validate(
        {
            "id": "msg_1",
            "tenant_id": "acme",
            "subscription_id": "wh_1",
            "event_id": "e1",
            "event_type": "task.status.changed.v1",
            "event": {"specversion": "1.0", "id": "e1", "type": "task.status.changed.v1"},
            "state": "pending",
            "created_at": NOW,
            "updated_at": NOW,
            **fields,
        }
    )


def deliverer(transports, *, failures: int = 0, **fields):  # type: ignore[no-untyped-def]
    subs, deliveries, scheduler = (
        FakeSubscriptions(subscription()),
        FakeDeliveries(delivery(**fields)),
        FakeScheduler(),
    )
    handler = WebhookDeliverer(
        subscriptions=subs,  # type: ignore[arg-type]
        deliveries=deliveries,  # type: ignore[arg-type]
        guard=FakeGuard(),
        transports=transports,
        scheduler=scheduler,
        gates=Gates(concurrency=2, breaker_failure_threshold=5, breaker_reset_seconds=60),
        policy=DeliveryPolicy(
            schedule=RetrySchedule((0, 5, 300), jitter_ratio=0),
            timeout=httpx.Timeout(5),
            total_seconds=5,
            defer_seconds=1,
            gate_wait_seconds=0,
            disable_after=timedelta(days=5),
            disable_after_failures=failures,
        ),
    )
    return handler, subs, deliveries, scheduler


async def test_a_2xx_is_recorded_delivered_and_signed_for_the_receiver() -> None:
    transports, seen = answering(204)
    handler, _, deliveries, scheduler = deliverer(transports)
    job = DeliverWebhook(delivery_id="msg_1", subscription_id="wh_1")
    await handler(job, context(job, []))
    assert deliveries.delivery.state is DeliveryState.DELIVERED and not scheduler.scheduled
    (request,) = seen
    assert request.headers["webhook-id"] == "msg_1"
    Webhook(SECRET).verify(request.content, dict(request.headers))


async def test_a_5xx_schedules_the_next_attempt_on_the_schedule() -> None:
    transports, _ = answering(503)
    handler, subs, deliveries, scheduler = deliverer(transports)
    job = DeliverWebhook(delivery_id="msg_1", subscription_id="wh_1")
    await handler(job, context(job, []))
    ((following, delay),) = scheduler.scheduled
    assert (following.attempt, delay) == (2, 5)
    assert deliveries.delivery.state is DeliveryState.RETRYING
    assert subs.subs["wh_1"].consecutive_failures == 1


async def test_retry_after_lengthens_the_wait() -> None:
    transports, _ = answering(429, headers={"Retry-After": "120"})
    handler, _, _, scheduler = deliverer(transports)
    job = DeliverWebhook(delivery_id="msg_1", subscription_id="wh_1")
    await handler(job, context(job, []))
    assert scheduler.scheduled[0][1] == 120


async def test_the_last_attempt_fails_the_delivery() -> None:
    transports, _ = answering(500)
    handler, _, deliveries, scheduler = deliverer(transports, attempts=2)
    job = DeliverWebhook(delivery_id="msg_1", subscription_id="wh_1", attempt=3)
    await handler(job, context(job, []))
    assert deliveries.delivery.state is DeliveryState.FAILED and not scheduler.scheduled


async def test_a_4xx_fails_without_retry() -> None:
    transports, _ = answering(422)
    handler, _, deliveries, scheduler = deliverer(transports)
    job = DeliverWebhook(delivery_id="msg_1", subscription_id="wh_1")
    await handler(job, context(job, []))
    assert deliveries.delivery.state is DeliveryState.FAILED and not scheduler.scheduled
    assert deliveries.delivery.attempts == 1


async def test_410_disables_and_announces_once() -> None:
    transports, _ = answering(410)
    handler, subs, _, _ = deliverer(transports)
    published: list[Contract] = []
    job = DeliverWebhook(delivery_id="msg_1", subscription_id="wh_1")
    await handler(job, context(job, published))
    (event,) = published
    assert isinstance(event, WebhookDisabled) and "410" in event.reason
    assert not subs.subs["wh_1"].enabled and subs.announced == ["wh_1"]


async def test_failing_past_the_count_bound_disables() -> None:
    transports, _ = answering(500)
    handler, subs, _, _ = deliverer(transports, failures=1)
    published: list[Contract] = []
    job = DeliverWebhook(delivery_id="msg_1", subscription_id="wh_1")
    await handler(job, context(job, published))
    assert not subs.subs["wh_1"].enabled and len(published) == 1


async def test_stale_and_duplicate_jobs_do_nothing() -> None:
    transports, seen = answering(200)
    handler, _, deliveries, _ = deliverer(transports, attempts=1, state="retrying", generation=1)
    for job in (
        DeliverWebhook(delivery_id="msg_1", subscription_id="wh_1", attempt=2, generation=0),
        DeliverWebhook(delivery_id="msg_1", subscription_id="wh_1", attempt=1, generation=1),
        DeliverWebhook(delivery_id="msg_unknown", subscription_id="wh_1"),
    ):
        await handler(job, context(job, []))
    assert seen == [] and deliveries.recorded == []


async def test_a_full_gate_defers_without_spending_an_attempt() -> None:
    transports, seen = answering(200)
    handler, _, deliveries, scheduler = deliverer(transports)
    gate = handler.gates.get("wh_1")
    gate.in_flight = gate.limit
    job = DeliverWebhook(delivery_id="msg_1", subscription_id="wh_1")
    await handler(job, context(job, []))
    assert scheduler.scheduled == [(job, 1)] and seen == [] and deliveries.recorded == []
