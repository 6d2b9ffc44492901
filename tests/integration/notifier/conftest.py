"""A notifier (its bus in a vhost of the test's own, a database of its own) with a short
retry schedule and loopback allowlisted, plus a publisher standing in for the services
whose events are delivered, and a listener for the events the notifier publishes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests.support.infra import require_mongodb
from tradebus_contracts import REGISTRY, Contract, Envelope
from tradebus_messaging import Bus, BusSettings, MessageContext
from tradebus_notifier.app import build
from tradebus_notifier.settings import NotifierSettings
from tradebus_storage import DeliveryLog, MongoSettings, WebhookRepository

from .receiver import Receiver


def bus_settings(vhost: str, **values: Any) -> BusSettings:
    return BusSettings.model_validate(
        {"RABBITMQ_URL": vhost, "shutdown_grace_seconds": 1, **values}
    )


@dataclass
class Harness:
    publisher: Bus
    subscriptions: WebhookRepository
    deliveries: DeliveryLog
    published: list[tuple[Contract, Envelope]]  # events the listener saw

    async def publish(self, event: Contract, *, tenant_id: str) -> Envelope:
        return await self.publisher.publish(event, tenant_id=tenant_id)

    async def subscribe(
        self, tenant_id: str, receiver: Receiver, event_types: list[str] | None = None
    ) -> tuple[str, str]:
        sub, secret = await self.subscriptions.create(
            tenant_id, url=receiver.url, event_types=event_types or ["#"], description=None
        )
        return sub.id, secret

    async def wait_delivery(
        self, did: str, predicate: Callable[[Any], bool], timeout: float = 20
    ) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                d = await self.deliveries.by_id(did)
                if d is not None and predicate(d):
                    return d
                await asyncio.sleep(0.05)


@pytest.fixture
async def make_notifier(
    vhost: str, mongo: tuple[Any, Any]
) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    _, db = mongo
    stack = AsyncExitStack()
    published: list[tuple[Contract, Envelope]] = []

    async def start(**overrides: Any) -> Harness:
        values: dict[str, Any] = {
            "webhook_allowed_networks": ["127.0.0.0/8"],
            "webhook_retry_schedule_seconds": [0, 1, 1, 1],
            "webhook_retry_jitter_ratio": 0,
            "webhook_timeout_seconds": 5,
            **overrides,
        }
        settings = NotifierSettings(**values)
        worker = await build(
            settings,
            bus_settings=bus_settings(vhost, service="notifier"),
            mongo=MongoSettings.model_validate(
                {"MONGODB_URL": require_mongodb(), "MONGODB_DATABASE": db.name}
            ),
        )
        await worker.bus.start()
        stack.push_async_callback(worker.on_stop or _noop)
        stack.push_async_callback(worker.bus.stop)

        async def listen(event: Contract, ctx: MessageContext) -> None:
            published.append((event, ctx.envelope))

        listener = Bus(bus_settings(vhost, service="listener"), registry=REGISTRY)
        listener.subscribe(
            queue="listener.notifier-events",
            message_types=["notifier.webhook.disabled.v1"],
            handler=listen,
        )
        await listener.start()
        stack.push_async_callback(listener.stop)
        publisher = Bus(bus_settings(vhost, service="omnirag-embed"), registry=REGISTRY)
        await publisher.start()
        stack.push_async_callback(publisher.stop)
        return Harness(
            publisher,
            WebhookRepository(db),
            DeliveryLog(db, ttl=timedelta(days=1)),
            published,
        )

    yield start
    await stack.aclose()


async def _noop() -> None:
    return None


# The gateway in-process, in the same vhost and database (its fixture, reused).
from tests.integration.gateway.conftest import KEY_GLOBEX, make_gateway  # noqa: E402, F401
