"""Composition root of notifier."""

from __future__ import annotations

from tradebus_contracts import REGISTRY, MessageFaulted, TaskStatusChanged
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.runner import Worker

from .handlers import on_message_faulted, on_task_status_changed
from .settings import NotifierSettings

SERVICE = "notifier"


async def build(settings: NotifierSettings) -> Worker:
    bus = Bus(BusSettings(service=SERVICE), registry=REGISTRY)
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
    return Worker(
        service=SERVICE, bus=bus, http_host=settings.http_host, http_port=settings.http_port
    )
