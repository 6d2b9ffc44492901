"""Composition root of shadowhunter."""

from __future__ import annotations

from tradebus_contracts import REGISTRY
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.runner import Worker
from tradebus_storage import MongoSettings, create_client, ping

from .settings import ShadowhunterSettings

SERVICE = "shadowhunter"


async def build(settings: ShadowhunterSettings) -> Worker:
    mongo = MongoSettings()
    client = create_client(mongo)
    db = client[mongo.database]
    bus = Bus(BusSettings(service=SERVICE), registry=REGISTRY)
    # Skeleton: the consumers of this service arrive with its feature work.

    async def close() -> None:
        await client.close()

    return Worker(
        service=SERVICE,
        bus=bus,
        http_host=settings.http_host,
        http_port=settings.http_port,
        checks={"mongodb": lambda: ping(db)},
        on_stop=close,
    )
