"""Composition root of omnirag-ingest: settings in, a Worker out. Nothing connects at
import; tests call `build` with their own bus and MongoDB settings, and may inject the
DNS resolver the URL fetcher uses."""

from __future__ import annotations

import httpx

from tradebus_contracts import REGISTRY, DocumentDeleted, IngestDocument
from tradebus_egress import AddressPolicy
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.runner import Worker
from tradebus_storage import (
    BlobStore,
    DocumentCatalog,
    KnowledgeRepository,
    MongoSettings,
    TaskRepository,
    open_database,
    ping,
)

from .adapters import FetchLimits, ParserSandbox, PinnedTransport, Resolver
from .domain import ChunkingPolicy, ParseLimits
from .handlers import IngestHandler
from .kb_check import wire_kb_check
from .pipeline import IngestPipeline
from .purge import PurgeHandler
from .settings import OmniragIngestSettings

SERVICE = "omnirag-ingest"
QUEUE = "omnirag-ingest.ingest"
PURGE_QUEUE = "omnirag-ingest.purge"
USER_AGENT = "tradebus-omnirag-ingest/0.1"


def http_client(
    settings: OmniragIngestSettings, resolver: Resolver | None = None
) -> httpx.AsyncClient:
    """The URL fetcher's client: every connection to an address checked against the
    allowlist, no proxies from the environment (a proxy would resolve names itself)."""
    policy = AddressPolicy.from_settings(settings.fetch_allow_networks, settings.fetch_allow_hosts)
    limits = httpx.Limits(max_connections=settings.concurrency * 2)
    return httpx.AsyncClient(
        transport=PinnedTransport(policy, resolver=resolver, limits=limits),
        timeout=httpx.Timeout(
            settings.fetch_timeout_seconds, connect=settings.fetch_connect_timeout_seconds
        ),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,  # followed hop by hop in adapters/fetch.py
        trust_env=False,
    )


def parser_sandbox(settings: OmniragIngestSettings) -> ParserSandbox:
    return ParserSandbox(
        ParseLimits(
            timeout_seconds=settings.parse_timeout_seconds,
            memory_mb=settings.parse_memory_mb,
            max_pages=settings.max_pages,
            max_text_chars=settings.max_text_chars,
            max_markup_tags=settings.max_markup_tags,
        ),
        chunking_policy(settings),
        start_method=settings.parse_start_method,
    )


def chunking_policy(settings: OmniragIngestSettings) -> ChunkingPolicy:
    return ChunkingPolicy(
        max_tokens=settings.chunk_max_tokens,
        overlap_tokens=settings.chunk_overlap_tokens,
        batch_size=settings.embed_batch_size,
        max_chunks=settings.max_chunks,
    )


async def build(
    settings: OmniragIngestSettings,
    *,
    bus_settings: BusSettings | None = None,
    mongo: MongoSettings | None = None,
    resolver: Resolver | None = None,
) -> Worker:
    bus_settings = bus_settings or BusSettings(service=SERVICE)
    client, db = open_database(mongo)
    knowledge, tasks = KnowledgeRepository(db), TaskRepository(db)
    await knowledge.ensure_indexes()
    await tasks.ensure_indexes()
    http = http_client(settings, resolver)
    pipeline = IngestPipeline(
        tasks=tasks,
        knowledge=knowledge,
        blobs=BlobStore(db),
        http=http,
        parser=parser_sandbox(settings),
        fetch_limits=FetchLimits(
            timeout=settings.fetch_timeout_seconds,
            max_bytes=settings.fetch_max_bytes,
            max_redirects=settings.fetch_max_redirects,
        ),
        policy=chunking_policy(settings),
    )
    bus = Bus(bus_settings, registry=REGISTRY)
    bus.subscribe(
        queue=QUEUE,
        message_types=[IngestDocument.message_type],
        handler=IngestHandler(tasks=tasks, knowledge=knowledge, pipeline=pipeline),
        prefetch=settings.prefetch,
        concurrency=settings.concurrency,
        fair=True,  # tenants share it without waiting behind each other's backlog
    )
    bus.subscribe(
        queue=PURGE_QUEUE,
        message_types=[DocumentDeleted.message_type],
        handler=PurgeHandler(catalog=DocumentCatalog(db), blobs=BlobStore(db)),
        prefetch=4,
        concurrency=2,
    )

    await wire_kb_check(bus, db, settings, tasks)

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
