"""Composition root of omnirag-embed."""

from __future__ import annotations

import asyncio

from tradebus_contracts import REGISTRY, EmbedChunks
from tradebus_knowledge import EmbeddingSettings, build_embedder
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.runner import Worker
from tradebus_storage import KnowledgeRepository, MongoSettings, TaskRepository, create_client, ping

from .handlers import EmbedHandler
from .settings import OmniragEmbedSettings

SERVICE = "omnirag-embed"
QUEUE = "omnirag-embed.embed"


async def build(settings: OmniragEmbedSettings) -> Worker:
    mongo = MongoSettings()
    client = create_client(mongo)
    db = client[mongo.database]
    bus_settings = BusSettings(service=SERVICE)
    bus = Bus(bus_settings, registry=REGISTRY)
    knowledge = KnowledgeRepository(db)
    await knowledge.ensure_indexes()
    embedder = build_embedder(EmbeddingSettings())
    bus.subscribe(
        queue=QUEUE,
        message_types=[EmbedChunks.message_type],
        handler=EmbedHandler(
            tasks=TaskRepository(db),
            knowledge=knowledge,
            embedder=embedder,
            budget=asyncio.Semaphore(settings.embed_concurrency),
            max_attempts=bus_settings.max_attempts,
        ),
        prefetch=settings.prefetch,
        concurrency=settings.concurrency,
    )

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
