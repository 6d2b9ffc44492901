"""dealbrain in-process against the real RabbitMQ (a vhost of the test's own) and MongoDB
(a database of the test's own); its LLM and reranker are the fault server's."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.retrieval.knowledge import DIMENSIONS
from tests.support.fault_server import FaultServer, running_fault_server
from tests.support.infra import mongodb_url
from tradebus_contracts import REGISTRY
from tradebus_dealbrain.app import SERVICE, build
from tradebus_dealbrain.settings import DealbrainSettings
from tradebus_knowledge import EmbeddingSettings
from tradebus_messaging import Bus, BusSettings
from tradebus_messaging.runner import Worker
from tradebus_providers import LLMSettings, RerankSettings
from tradebus_storage import MongoSettings


@dataclass
class Dealbrain:
    worker: Worker
    client: Bus
    db: Any
    faults: FaultServer


@pytest.fixture
async def fault_server() -> AsyncIterator[FaultServer]:
    async with running_fault_server() as server:
        yield server


@pytest.fixture
async def start_dealbrain(
    vhost: str, mongo: tuple[Any, Any], fault_server: FaultServer, unique: str
) -> AsyncIterator[Callable[..., Any]]:
    """Start dealbrain with settings overrides; `llm` / `rerank`: "fault" (the fault
    server) or None (the offline extractive answerer, BM25)."""
    started: list[Dealbrain] = []

    async def start(*, llm: str | None = "fault", rerank: str | None = "fault", **overrides: Any):
        settings = DealbrainSettings(replica_id=f"{unique}-{len(started)}", **overrides)
        worker = await build(
            settings,
            # By alias: these settings ignore their field names as keyword arguments.
            bus_settings=BusSettings(
                RABBITMQ_URL=vhost,
                service=SERVICE,
                retry_base_seconds=1,
                shutdown_grace_seconds=2,
                connect_timeout_seconds=5,
            ),
            mongo=MongoSettings(MONGODB_URL=mongodb_url(), MONGODB_DATABASE=mongo[1].name),
            embedding=EmbeddingSettings(provider="hashing", dimensions=DIMENSIONS),
            llm=(
                LLMSettings(provider="openai", base_url=fault_server.url, model="fake-llm")
                if llm
                else LLMSettings(provider="extractive")
            ),
            rerank=(
                RerankSettings(provider="http", base_url=fault_server.url, model="fake-rerank")
                if rerank
                else RerankSettings(provider="bm25")
            ),
        )
        await worker.bus.start()
        client = Bus(BusSettings(RABBITMQ_URL=vhost, service=f"client-{unique}"), registry=REGISTRY)
        await client.start()
        instance = Dealbrain(worker, client, mongo[1], fault_server)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        with contextlib.suppress(Exception):
            await instance.client.stop()
        with contextlib.suppress(Exception):
            await instance.worker.bus.stop()
        if instance.worker.on_stop is not None:
            await instance.worker.on_stop()


async def eventually(predicate: Callable[[], Any], *, within: float = 15.0) -> Any:
    """Poll until predicate() (awaited if needed) is truthy; fail after `within` s."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.05)
