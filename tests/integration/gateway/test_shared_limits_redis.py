"""SharedLimits against the real Redis: two instances stand for two gateway replicas."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

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


# A window far longer than any test run: no window edge moves a count while it runs.
FEW = rate_item(0.0001, 3)  # 3 per 30,000 s


def round_trips(limits: SharedLimits, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The commands `limits` sends one by one (a script call is one)."""
    sent: list[str] = []
    client = limits._redis
    assert client is not None
    original = client.execute_command

    async def counted(*args, **kwargs):
        sent.append(str(args[0]))
        return await original(*args, **kwargs)

    monkeypatch.setattr(client, "execute_command", counted)
    return sent


async def test_admit_takes_the_rate_and_a_slot_in_one_round_trip(replicas, monkeypatch) -> None:
    a, b = replicas
    sent = round_trips(a, monkeypatch)
    first = await a.admit("acme", FEW, "ask", 2, hold=60)
    second = await b.admit("acme", FEW, "ask", 2, hold=60)
    assert first.slot is not None and first.slot.shared and second.slot is not None
    assert len(sent) == 1  # a's admit: rate and slot in one script call
    full = await a.admit("acme", FEW, "ask", 2, hold=60)
    assert (full.slot, full.wait) == (None, 0.0)  # the budget refused; the unit was taken
    limited = await b.admit("acme", FEW, "ask", 2, hold=60)
    assert limited.slot is None and limited.wait > 1  # the rate refused (3 per window)
    assert len(sent) == 2
    # the rate is the one `rate` takes from: the tenant routes and the online ones share it
    assert await a.rate("acme", FEW) > 0
    assert (await a.admit("globex", FEW, "ask", 2, hold=60)).slot is not None


async def test_a_slot_given_back_without_waiting_is_free_again(replicas) -> None:
    a, b = replicas
    item = rate_item(1000.0, 1000)
    held = (await a.admit("acme", item, "ask", 1, hold=60)).slot
    assert held is not None
    assert (await b.admit("acme", item, "ask", 1, hold=60)).slot is None
    a.release_soon(held)
    # this replica's next take carries the removal: it never refuses itself the slot
    again = (await a.admit("acme", item, "ask", 1, hold=60)).slot
    assert again is not None
    a.release_soon(again)
    await a.flush_releases()  # what no take carried leaves on its own
    assert (await b.admit("acme", item, "ask", 1, hold=60)).slot is not None


async def test_a_slot_is_a_lease_that_ends_by_itself(replicas) -> None:
    a, b = replicas
    url = require_redis()
    inspect = Redis.from_url(url)
    try:
        long = (await a.admit("acme", FEW, "ask", 3, hold=60)).slot
        assert long is not None
        now_s, now_us = await inspect.time()
        ends = await inspect.zscore(long.key, long.token)
        assert ends is not None and 59_000 < ends - (now_s * 1000 + now_us // 1000) <= 60_000
        # a shorter hold never shortens the set's own life below a longer holder's
        assert (await a.admit("acme", FEW, "ask", 3, hold=1)).slot is not None
        assert await inspect.pttl(long.key) > 50_000
        # a holder that dies never gives its slot back: the hold ends it
        many = rate_item(1000.0, 1000)
        dead = (await b.admit("globex", many, "ask", 1, hold=0.2)).slot
        assert dead is not None
        async with asyncio.timeout(10):
            while (taken := (await a.admit("globex", many, "ask", 1, hold=60)).slot) is None:
                await asyncio.sleep(0.05)
        assert await inspect.zscore(dead.key, dead.token) is None
        assert await inspect.zscore(taken.key, taken.token) is not None
    finally:
        await inspect.aclose()
