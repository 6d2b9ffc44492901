"""shadowhunter in-process against the real broker (a vhost of its own), the real MongoDB
(a database of its own, the tenant's knowledge base seeded as omnirag-embed leaves it) and
the fault server standing in for three search engines and the LLM."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.fault_server import FaultServer, running_fault_server
from tests.support.infra import require_mongodb
from tradebus_contracts import REGISTRY, Contract
from tradebus_knowledge import (
    EmbeddingSettings,
    HashingEmbedder,
    chunk_text,
    content_hash,
    count_tokens,
    detect_format,
    normalize,
    parse,
)
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.runner import Worker
from tradebus_providers import LLMSettings, SearchSettings
from tradebus_shadowhunter.app import build
from tradebus_shadowhunter.settings import ShadowhunterSettings
from tradebus_storage import KnowledgeRepository, MongoSettings, NewChunk

ENGINES = ("web1", "web2", "web3")
SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "documents"
EMBEDDING = EmbeddingSettings(provider="hashing", dimensions=384)


@dataclass
class Service:
    worker: Worker
    client: Bus
    tenant: str

    async def request(self, payload: Contract, *, timeout: float = 10.0) -> Any:
        return await self.client.request(payload, timeout=timeout, tenant_id=self.tenant)


async def seed_document(
    db: Any, tenant: str, document_id: str, title: str, paragraphs: list[str]
) -> None:
    """A document as omnirag-embed leaves it: chunks, their vectors, marked indexed."""
    repo = KnowledgeRepository(db)
    await repo.ensure_indexes()
    await repo.upsert_document(
        tenant_id=tenant, document_id=document_id, task_id="seed", title=title, metadata={}
    )
    chunks = [NewChunk(i, t, count_tokens(t), content_hash(t)) for i, t in enumerate(paragraphs)]
    await repo.store_chunks(tenant_id=tenant, document_id=document_id, chunks=chunks)
    embedder = HashingEmbedder(EMBEDDING.dimensions)
    vectors = await embedder.embed(paragraphs)
    ids = await repo.chunk_ids(tenant, document_id)
    await repo.store_vectors(tenant, document_id, 0, ids, vectors, model=embedder.name)
    await repo.mark_indexed(tenant, document_id)


async def seed_sample(db: Any, tenant: str, name: str) -> str:
    """A file of samples/documents, parsed and chunked the way omnirag-ingest does it and
    titled the way the gateway's CLI titles an upload; returns its document id."""
    path = SAMPLES / name
    text = normalize(parse(path.read_bytes(), detect_format(path.name, None)))
    chunks = [c.text for c in chunk_text(text, max_tokens=256, overlap_tokens=32)]
    document_id = f"doc-{path.stem}"
    await seed_document(db, tenant, document_id, path.stem.replace("-", " "), chunks)
    return document_id


@pytest.fixture
async def engines() -> AsyncIterator[FaultServer]:
    async with running_fault_server() as server:
        yield server


@pytest.fixture
async def start(
    vhost: str, engines: FaultServer, mongo: tuple[Any, Any]
) -> AsyncIterator[Callable[..., Awaitable[Service]]]:
    """`await start(llm=True, web=True, **settings)`: shadowhunter serving in the test's
    vhost over the test's database, each engine of the fault server a search provider
    (none with `web=False`)."""
    require_mongodb()
    _, db = mongo
    started: list[Service] = []

    async def factory(*, llm: bool = True, web: bool = True, **values: Any) -> Service:
        worker = await build(
            ShadowhunterSettings(**values),
            bus_settings=BusSettings.model_validate(
                {"RABBITMQ_URL": vhost, "service": "shadowhunter", "shutdown_grace_seconds": 2}
            ),
            mongo=MongoSettings.model_validate(
                {"MONGODB_URL": require_mongodb(), "MONGODB_DATABASE": db.name}
            ),
            # Without web search the service hunts offline in the knowledge base (`make run`).
            search=SearchSettings(
                endpoints={e: f"{engines.url}/engines/{e}" for e in ENGINES} if web else {}
            ),
            llm=(
                LLMSettings(provider="openai", base_url=engines.url, model="stand-in")
                if llm
                else LLMSettings(provider="extractive")
            ),
            embedding=EMBEDDING,
        )
        await worker.bus.start()
        client = Bus(
            BusSettings.model_validate({"RABBITMQ_URL": vhost, "service": "it-client"}),
            registry=REGISTRY,
        )
        await client.start()
        service = Service(worker, client, f"tenant-{uuid.uuid4().hex[:8]}")
        started.append(service)
        return service

    yield factory
    for service in started:
        await service.client.stop()
        await service.worker.bus.stop()
        if service.worker.on_stop is not None:
            await service.worker.on_stop()
