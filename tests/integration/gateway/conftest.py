"""The gateway app in-process (ASGI, lifespan run) against the real broker in a vhost of
its own and a database of its own, plus a tiny RPC server standing in for dealbrain and
shadowhunter whose behaviour each test controls."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support.infra import require_mongodb
from tradebus_contracts import REGISTRY, Contract, IngestDocument
from tradebus_gateway.app import create_app
from tradebus_gateway.auth import ApiKeyRepository
from tradebus_gateway.settings import GatewaySettings
from tradebus_gateway.state import GatewayState
from tradebus_messaging import Bus, BusSettings, MessageContext
from tradebus_storage import MongoSettings

KEY_ACME = "tb_it_acme_" + uuid.uuid4().hex
KEY_GLOBEX = "tb_it_globex_" + uuid.uuid4().hex
KEY_OPERATOR = "tb_it_operator_" + uuid.uuid4().hex

Respond = Callable[[Any], Contract]


class FakeServer:
    """Answers with `respond(request)` (which may raise); holds each request at `gate`
    until the test opens it. Records every request it handled and its context."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.handled: list[tuple[Any, MessageContext]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()
        self.completed: list[Any] = []  # requests that got past the gate

    async def __call__(self, request: Any, ctx: MessageContext) -> Contract:
        self.handled.append((request, ctx))
        self.entered.set()
        await self.gate.wait()
        self.completed.append(request)
        return self.respond(request)


@dataclass
class Gateway:
    api: httpx.AsyncClient  # holds acme's key
    app: FastAPI
    operator: httpx.AsyncClient  # holds KEY_OPERATOR (operator routes only)

    @property
    def state(self) -> GatewayState:
        state: GatewayState = self.app.state.gateway
        return state


def bus_settings(vhost: str, **values: Any) -> BusSettings:
    # The URL by its alias: BusSettings(url=...) would be ignored for the environment's.
    return BusSettings.model_validate(
        {"RABBITMQ_URL": vhost, "shutdown_grace_seconds": 1, **values}
    )


IngestHandler = Callable[[IngestDocument, MessageContext], Awaitable[None]]


@pytest.fixture
async def ingest_consumer(vhost: str) -> AsyncIterator[Callable[[IngestHandler], Awaitable[Bus]]]:
    """`await ingest_consumer(handler)`: `handler` takes the ingest queue's commands in
    place of omnirag-ingest (each call one more consumer), until the test ends."""
    buses: list[Bus] = []

    async def start(handler: IngestHandler) -> Bus:
        bus = Bus(bus_settings(vhost, service="test-ingest"), registry=REGISTRY)
        bus.subscribe(
            queue="omnirag-ingest.ingest",
            message_types=[IngestDocument.message_type],
            handler=handler,
        )
        buses.append(bus)
        await bus.start()
        return bus

    yield start
    for bus in buses:
        await bus.stop()


@pytest.fixture
async def serve(vhost: str) -> AsyncIterator[Callable[..., Awaitable[FakeServer]]]:
    """`await serve(request_type, respond, queue=..., prefetch=..., concurrency=...)`
    starts a server process-alike (its own Bus and connection) in the test's vhost."""
    buses: list[Bus] = []

    async def start(
        request_type: str,
        respond: Respond,
        *,
        queue: str,
        prefetch: int = 8,
        concurrency: int = 8,
    ) -> FakeServer:
        server = FakeServer(respond)
        settings = bus_settings(vhost, service=queue.split(".")[0])
        bus = Bus(settings, registry=REGISTRY)
        bus.serve(
            queue=queue,
            request_type=request_type,
            handler=server,
            prefetch=prefetch,
            concurrency=concurrency,
        )
        buses.append(bus)
        await bus.start()
        return server

    yield start
    for bus in buses:
        await bus.stop()


@pytest.fixture
async def make_gateway(
    vhost: str, mongo: tuple[Any, Any]
) -> AsyncIterator[Callable[..., Awaitable[Gateway]]]:
    """`await make_gateway(**settings)`: a started gateway, ready. Two tenants exist:
    acme (KEY_ACME, the client's) and globex (KEY_GLOBEX), and an operator key
    (KEY_OPERATOR, the `operator` client's)."""
    _, db = mongo
    keys = ApiKeyRepository(db)
    for tenant, key in (("acme", KEY_ACME), ("globex", KEY_GLOBEX)):
        await keys.create_tenant(tenant)
        await keys.add_key(tenant, key)
    await keys.add_operator_key(KEY_OPERATOR, label="it operator")
    stack = AsyncExitStack()

    async def start(**overrides: Any) -> Gateway:
        # one test's limits never count another's requests in a shared Redis
        settings = GatewaySettings(**{"limits_prefix": db.name, **overrides})
        app = create_app(
            settings,
            bus_settings=bus_settings(vhost, service="gateway"),
            # (by alias: the settings read these names, keyword names are not accepted)
            mongo_settings=MongoSettings.model_validate(
                {"MONGODB_URL": require_mongodb(), "MONGODB_DATABASE": db.name}
            ),
        )
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://gateway",
                headers={"Authorization": f"Bearer {KEY_ACME}"},
                timeout=30,
            )
        )
        async with asyncio.timeout(15):  # the bus connects in the background
            while (await client.get("/readyz")).status_code != 200:
                await asyncio.sleep(0.05)
        operator = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://gateway",
                headers={"Authorization": f"Bearer {KEY_OPERATOR}"},
                timeout=30,
            )
        )
        gateway = Gateway(client, app, operator)
        assert (gateway.state.bus.settings.url, gateway.state.db.name) == (vhost, db.name)
        return gateway

    yield start
    await stack.aclose()
