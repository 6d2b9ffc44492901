"""Limits that hold across gateway replicas (two gateway processes sharing Redis), and
unknown API keys that cost no database query each."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from tests.support.infra import require_redis
from tests.support.stack import Stack, isolated_stack
from tradebus_gateway.auth import ApiKeyRepository
from tradebus_storage import MongoSettings, create_client

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

KEY = "tb_e2e_limits_" + secrets.token_hex(8)
GATEWAYS = ("gateway-1", "gateway-2")
BURST = 10  # per window of BURST / RATE = 5 s
CATCH_UP = 1.0  # at most one load of new keys per second


@pytest.fixture
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    redis_url = require_redis()
    async with isolated_stack(
        "e2e-limits",
        base_port=19_050,
        logs=tmp_path_factory.mktemp("limits-logs"),
        env={
            "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
            "REDIS_URL": redis_url,
            "TRADEBUS_GATEWAY_TENANT_RATE_PER_SECOND": "2",
            "TRADEBUS_GATEWAY_TENANT_BURST": str(BURST),
            "TRADEBUS_GATEWAY_API_KEY_CATCH_UP_SECONDS": str(CATCH_UP),
        },
        services=[(name, "gateway") for name in GATEWAYS],
    ) as stack:
        yield stack


def _catch_up_loads(metrics: str) -> float:
    found = re.search(r'^tradebus_gateway_key_loads_total\{kind="catch_up"\} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


async def test_a_tenants_rate_holds_across_replicas(stack: Stack) -> None:
    clients = [
        httpx.AsyncClient(
            base_url=stack.processes[name].url, headers={"Authorization": f"Bearer {KEY}"}
        )
        for name in GATEWAYS
    ]
    try:
        statuses = []
        for n in range(3 * BURST):  # alternating replicas, well inside one window
            response = await clients[n % 2].get("/v1/webhooks")
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["Retry-After"]) >= 1
                assert response.json()["code"] == "rate_limited"
        admitted = statuses.count(200)
        # per-replica limits would admit BURST on each replica (2 x BURST)
        assert BURST <= admitted <= BURST + 1, statuses
        assert set(statuses) == {200, 429}
    finally:
        for client in clients:
            await client.aclose()


async def test_unknown_keys_cost_no_database_query_each(
    stack: Stack, figures: Callable[[str], None]
) -> None:
    url = stack.processes["gateway-1"].url
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        before = _catch_up_loads((await client.get("/metrics")).text)
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def attempt() -> int:
            headers = {"Authorization": f"Bearer tb_{secrets.token_urlsafe(32)}"}
            return (await client.get("/v1/webhooks", headers=headers)).status_code

        statuses = await asyncio.gather(*(attempt() for _ in range(400)))
        elapsed = loop.time() - started
        assert set(statuses) == {401}
        loads = _catch_up_loads((await client.get("/metrics")).text) - before
        # at most one catch-up load per interval, whatever the number of unknown keys
        assert loads <= elapsed / CATCH_UP + 2, (loads, elapsed)
        assert loads <= len(statuses) / 4
        figures(f"400 unknown keys in {elapsed:.2f} s: {loads:.0f} key-directory loads")

        # a key created after the gateway loaded its directory works on first use
        mongo = create_client(MongoSettings())
        try:
            fresh = "tb_" + secrets.token_urlsafe(32)
            await ApiKeyRepository(mongo[stack.database]).add_key("default", fresh)
        finally:
            await mongo.close()
        answer = await client.get("/v1/webhooks", headers={"Authorization": f"Bearer {fresh}"})
        assert answer.status_code == 200, answer.text
