"""Composition root of notifier: settings in, a Worker out. Nothing connects at import;
tests call `build` with their own bus and MongoDB settings, and may inject the SSRF
guard, the transport factory and the job scheduler."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tradebus_contracts import (
    REGISTRY,
    DeliverWebhook,
    MessageFaulted,
    MessageKind,
    TaskStatusChanged,
)
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.runner import Worker
from tradebus_storage import (
    DeliveryLog,
    MongoSettings,
    ScheduleSettings,
    WebhookRepository,
    open_database,
    ping,
)

from .adapters import DelayNetworkScheduler, NetworkGuard, pinned_transport
from .alerting import wire_alerts
from .domain.ports import AddressGuard, JobScheduler, TransportFactory
from .domain.schedule import RetrySchedule
from .gates import Gates
from .handlers import on_message_faulted, on_task_status_changed
from .scheduling import wire_schedules
from .settings import NotifierSettings
from .webhook_delivery import DeliveryPolicy, WebhookDeliverer
from .webhook_fanout import WebhookFanout

SERVICE = "notifier"
FANOUT_QUEUE = "notifier.webhook-fanout"
DELIVER_QUEUE = "notifier.webhook-deliver"


def delivery_policy(settings: NotifierSettings) -> DeliveryPolicy:
    return DeliveryPolicy(
        schedule=RetrySchedule(
            tuple(settings.webhook_retry_schedule_seconds),
            retry_after_cap_seconds=settings.webhook_retry_after_cap_seconds,
            jitter_ratio=settings.webhook_retry_jitter_ratio,
        ),
        timeout=httpx.Timeout(
            settings.webhook_timeout_seconds, connect=settings.webhook_connect_timeout_seconds
        ),
        total_seconds=settings.webhook_timeout_seconds,
        defer_seconds=settings.webhook_defer_seconds,
        gate_wait_seconds=settings.webhook_gate_wait_seconds,
        disable_after=timedelta(seconds=settings.webhook_disable_after_seconds),
        disable_after_failures=settings.webhook_disable_after_failures,
    )


async def build(
    settings: NotifierSettings,
    *,
    bus_settings: BusSettings | None = None,
    mongo: MongoSettings | None = None,
    guard: AddressGuard | None = None,
    transports: TransportFactory | None = None,
    scheduler: JobScheduler | None = None,
    schedules: ScheduleSettings | None = None,
) -> Worker:
    bus_settings = bus_settings or BusSettings(service=SERVICE)
    client, db = open_database(mongo)
    subscriptions = WebhookRepository(db)
    deliveries = DeliveryLog(db, ttl=timedelta(seconds=settings.webhook_delivery_log_ttl_seconds))
    await subscriptions.ensure_indexes()
    await deliveries.ensure_indexes()
    gates = Gates(
        concurrency=settings.webhook_subscription_concurrency,
        breaker_failure_threshold=settings.webhook_breaker_failure_threshold,
        breaker_reset_seconds=settings.webhook_breaker_reset_seconds,
    )

    bus = Bus(bus_settings, registry=REGISTRY)
    bus.subscribe(
        queue="notifier.faults",
        message_types=[MessageFaulted.message_type],
        handler=on_message_faulted,
        prefetch=settings.prefetch,
        concurrency=settings.concurrency,
    )
    bus.subscribe(
        queue="notifier.tasks",
        message_types=[TaskStatusChanged.message_type],
        handler=on_task_status_changed,
        prefetch=settings.prefetch,
        concurrency=settings.concurrency,
    )
    # Bound to every event type this build knows (not `#`): an event it cannot read
    # would only be parked; a newer type reaches webhooks once the notifier knows it.
    bus.subscribe(
        queue=FANOUT_QUEUE,
        message_types=[m.message_type for m in REGISTRY if m.kind is MessageKind.EVENT],
        handler=WebhookFanout(
            subscriptions=subscriptions, deliveries=deliveries, publish=bus.publish
        ),
        prefetch=settings.webhook_fanout_prefetch,
        concurrency=settings.webhook_fanout_concurrency,
    )
    bus.subscribe(
        queue=DELIVER_QUEUE,
        message_types=[DeliverWebhook.message_type],
        handler=WebhookDeliverer(
            subscriptions=subscriptions,
            deliveries=deliveries,
            guard=guard or NetworkGuard(settings.webhook_allowed_networks),
            transports=transports or pinned_transport,
            scheduler=scheduler or DelayNetworkScheduler(bus, queue=DELIVER_QUEUE),
            gates=gates,
            policy=delivery_policy(settings),
        ),
        prefetch=settings.webhook_deliver_prefetch,
        concurrency=settings.webhook_deliver_concurrency,
        # The HTTP exchange is bounded by its own timeout; this only catches a hang
        # in our own bookkeeping.
        time_limit_seconds=settings.webhook_timeout_seconds * 2 + 30,
    )

    # Scheduled jobs: the cron scheduler (started with the worker) and the sweeps.
    cron = await wire_schedules(bus, db, settings, schedules or ScheduleSettings())
    # Alert rules: the channel endpoint, and the evaluation loop (started with the worker).
    alerts = await wire_alerts(bus, db, settings)

    async def start() -> None:
        cron.start()
        alerts.start()

    async def close() -> None:
        await cron.stop()
        await alerts.stop()
        await gates.close()
        await client.close()

    return Worker(
        service=SERVICE,
        bus=bus,
        http_host=settings.http_host,
        http_port=settings.http_port,
        checks={"mongodb": lambda: ping(db)},
        on_start=start,
        on_stop=close,
    )
