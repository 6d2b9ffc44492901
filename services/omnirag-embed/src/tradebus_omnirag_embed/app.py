"""Composition root of omnirag-embed: settings in, a Worker out. Nothing connects at
import; tests call `build` with their own bus, MongoDB and embedding settings."""

from __future__ import annotations

import asyncio

from tradebus_contracts import REGISTRY, EmbedChunks
from tradebus_knowledge import EmbeddingSettings, build_embedder
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.runner import Worker
from tradebus_storage import KnowledgeRepository, MongoSettings, TaskRepository, open_database, ping

from .adapters import BatchEmbedder
from .handlers import EmbedHandler
from .settings import OmniragEmbedSettings

SERVICE = "omnirag-embed"
QUEUE = "omnirag-embed.embed"


async def build(
    settings: OmniragEmbedSettings,
    *,
    bus_settings: BusSettings | None = None,
    mongo: MongoSettings | None = None,
    embedding: EmbeddingSettings | None = None,
) -> Worker:
    bus_settings = bus_settings or BusSettings(service=SERVICE)
    client, db = open_database(mongo)
    knowledge = KnowledgeRepository(db)
    await knowledge.ensure_indexes()
    batches = BatchEmbedder(
        knowledge,
        build_embedder(embedding or EmbeddingSettings()),
        asyncio.Semaphore(settings.embed_concurrency),
    )
    bus = Bus(bus_settings, registry=REGISTRY)
    bus.subscribe(
        queue=QUEUE,
        message_types=[EmbedChunks.message_type],
        handler=EmbedHandler(tasks=TaskRepository(db), knowledge=knowledge, batches=batches),
        prefetch=settings.prefetch,
        concurrency=settings.concurrency,
        fair=True,  # batches inherit their document's tenant and priority lane
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
