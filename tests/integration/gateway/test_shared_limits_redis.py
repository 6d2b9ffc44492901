"""SharedLimits against the real Redis: two instances stand for two gateway replicas."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.support.infra import require_redis
from tradebus_resilience import SharedLimits, rate_item

pytestmark = pytest.mark.integration


@pytest.fixture
async def replicas():
    url, prefix = require_redis(), "it-limits-" + uuid.uuid4().hex
    pair = (SharedLimits(url, prefix=prefix), SharedLimits(url, prefix=prefix))
    yield pair
    for limits in pair:
        await limits.close()


async def test_the_rate_is_shared_by_replicas(replicas) -> None:
    a, b = replicas
    item = rate_item(1.0, 6)
    waits = [await (a if n % 2 else b).rate("acme", item) for n in range(9)]
    assert waits.count(0.0) == 6 and all(w > 0 for w in waits[6:])
    assert await a.rate("globex", item) == 0.0


async def test_an_in_flight_budget_is_shared_and_a_dead_holder_frees_it(replicas) -> None:
    a, b = replicas
    held = await a.acquire("ask", "acme", 2, hold=60)
    short = await b.acquire("ask", "acme", 2, hold=0.3)  # its holder "dies": never released
    assert held is not None and held.shared and short is not None
    assert await a.acquire("ask", "acme", 2, hold=60) is None
    assert await b.acquire("ask", "acme", 2, hold=60) is None
    await asyncio.sleep(0.4)  # past the dead holder's deadline
    again = await b.acquire("ask", "acme", 2, hold=60)
    assert again is not None
    await a.release(held)
    assert await a.acquire("ask", "acme", 2, hold=60) is not None
