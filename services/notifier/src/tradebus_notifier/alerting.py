"""Alerts wired into the notifier: the channel endpoint on the bus, and the evaluation
loop that the worker starts and stops (app.py calls `wire_alerts`)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from tradebus_contracts import NotifyAlert
from tradebus_messaging import Bus
from tradebus_messaging.runner import default_replica_id
from tradebus_storage import LeaseRepository

from .adapters.addresses import NetworkGuard
from .adapters.alert_channels import ChannelPoster
from .adapters.alert_signals import AmqpQueueProbe, MongoSignals
from .adapters.alert_store import AlertStore
from .adapters.pinned import pinned_transport
from .alert_evaluation import AlertEvaluator
from .alert_notify import AlertNotifier
from .domain.ports import AddressGuard, TransportFactory
from .settings import NotifierSettings

NOTIFY_QUEUE = "notifier.alert-notify"


@dataclass
class Alerting:
    evaluator: AlertEvaluator
    probe: AmqpQueueProbe
    leases: LeaseRepository
    interval: float
    enabled: bool
    # Unique per evaluator, not just per process: two in one process (tests) take turns too.
    holder: str = field(default_factory=lambda: f"{default_replica_id()}-{uuid.uuid4().hex[:6]}")
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(
                self.evaluator.run(self.leases, holder=self.holder, interval=self.interval),
                name="alert-evaluation",
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.probe.close()


async def wire_alerts(
    bus: Bus,
    db: AsyncDatabase[Any],
    settings: NotifierSettings,
    *,
    guard: AddressGuard | None = None,
    transports: TransportFactory | None = None,
) -> Alerting:
    """Subscribe the channel endpoint (always, so jobs already queued are handled even
    after a channel was removed: they park with the reason) and build the evaluator."""
    store = AlertStore(db)
    await store.ensure_indexes()
    bus.subscribe(
        queue=NOTIFY_QUEUE,
        message_types=[NotifyAlert.message_type],
        handler=AlertNotifier(
            channels=settings.alert_channels,
            poster=ChannelPoster(
                guard=guard or NetworkGuard(settings.alert_allowed_networks),
                transports=transports or pinned_transport,
                timeout=settings.alert_channel_timeout_seconds,
            ),
        ),
        prefetch=settings.alert_notify_prefetch,
        concurrency=settings.alert_notify_concurrency,
        time_limit_seconds=settings.alert_channel_timeout_seconds * 2 + 30,
    )
    probe = AmqpQueueProbe(bus.settings.url, fair_shards=bus.settings.fair_shards)
    evaluator = AlertEvaluator(
        rules=settings.alert_rules,
        queues=settings.alert_queues,
        signals=MongoSignals(db),
        probe=probe,
        store=store,
        publish=bus.publish,
        channels=settings.alert_channels,
    )
    return Alerting(
        evaluator,
        probe,
        LeaseRepository(db),
        settings.alert_interval_seconds,
        settings.alerts_enabled,
    )
