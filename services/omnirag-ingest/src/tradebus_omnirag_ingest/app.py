"""Composition root of omnirag-ingest."""

from __future__ import annotations

import httpx

from tradebus_contracts import REGISTRY, IngestDocument
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.runner import Worker
from tradebus_storage import (
    BlobStore,
    KnowledgeRepository,
    MongoSettings,
    TaskRepository,
    create_client,
    ping,
)

from .fetch import FetchLimits
from .handlers import ChunkingPolicy, IngestHandler
from .settings import OmniragIngestSettings

SERVICE = "omnirag-ingest"
QUEUE = "omnirag-ingest.ingest"


async def build(settings: OmniragIngestSettings) -> Worker:
    mongo = MongoSettings()
    client = create_client(mongo)
    db = client[mongo.database]
    bus_settings = BusSettings(service=SERVICE)
    bus = Bus(bus_settings, registry=REGISTRY)
    knowledge = KnowledgeRepository(db)
    tasks = TaskRepository(db)
    await knowledge.ensure_indexes()
    await tasks.ensure_indexes()
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.fetch_timeout_seconds, connect=5.0),
        headers={"User-Agent": "tradebus-omnirag-ingest/0.1"},
        limits=httpx.Limits(max_connections=settings.concurrency * 2),
    )
    handler = IngestHandler(
        tasks=tasks,
        knowledge=knowledge,
        blobs=BlobStore(db),
        http=http,
        limits=FetchLimits(
            timeout=settings.fetch_timeout_seconds,
            max_bytes=settings.fetch_max_bytes,
            allow_private=settings.fetch_allow_private_addresses,
        ),
        policy=ChunkingPolicy(
            max_tokens=settings.chunk_max_tokens,
            overlap_tokens=settings.chunk_overlap_tokens,
            batch_size=settings.embed_batch_size,
        ),
        max_attempts=bus_settings.max_attempts,
    )
    bus.subscribe(
        queue=QUEUE,
        message_types=[IngestDocument.message_type],
        handler=handler,
        prefetch=settings.prefetch,
        concurrency=settings.concurrency,
    )

    async def close() -> None:
        await http.aclose()
        await client.close()

    return Worker(
        service=SERVICE,
        bus=bus,
        http_host=settings.http_host,
        http_port=settings.http_port,
        checks={"mongodb": lambda: ping(db)},
        on_stop=close,
    )
