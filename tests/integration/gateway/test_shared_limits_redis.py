"""SharedLimits against the real Redis: two instances stand for two gateway replicas."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from tests.support.infra import require_redis
from tradebus_resilience import SharedLimits, rate_item
from tradebus_resilience._credit import IDLE_SECONDS, POOL_SECONDS

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
    await a.admit("warm", FEW, "ask", 2, hold=60)  # the script is loaded (a round trip)
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
        # The budget's first slot is poolable (at most half of it is held): its hold
        # is longer by the pool's, for this replica to reuse it.
        long = (await a.admit("acme", FEW, "ask", 3, hold=60)).slot
        assert long is not None
        now_s, now_us = await inspect.time()
        ends = await inspect.zscore(long.key, long.token)
        pooled = 60_000 + POOL_SECONDS * 1000
        assert ends is not None and pooled - 1000 < ends - (now_s * 1000 + now_us // 1000) <= pooled
        # Past half of the budget a slot's hold is the call's own, and a shorter hold never
        # shortens the set's own life below a longer holder's.
        short = (await b.admit("acme", FEW, "ask", 3, hold=1)).slot
        assert short is not None
        ends = await inspect.zscore(short.key, short.token)
        assert ends is not None and ends - (now_s * 1000 + now_us // 1000) <= 2_000
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


async def test_far_from_its_limits_a_replica_admits_from_its_credit(replicas, monkeypatch) -> None:
    a, b = replicas
    many = rate_item(1000.0, 100_000)
    await a.admit("warm", many, "ask", 16, hold=60)
    sent = round_trips(a, monkeypatch)
    inspect = Redis.from_url(require_redis())
    try:
        for _ in range(300):  # one caller after another, as at concurrency 1
            admitted = await a.admit("acme", many, "ask", 16, hold=60)
            assert admitted.slot is not None
            # one slot, pooled and reused: the budget never counts more than the calls
            assert await inspect.zcard(admitted.slot.key) == 1
            a.release_soon(admitted.slot)
        # units leased in doubling batches (up to 64), one slot for all: a few round trips
        assert len(sent) <= 12, sent
        # the pooled slot is held in Redis like any other: the other replica sees it
        assert (await b.admit("acme", many, "ask", 1, hold=60)).slot is None
        # idle, it goes back to Redis by itself
        await asyncio.sleep(IDLE_SECONDS + 0.2)
        await a.flush_releases()
        assert await inspect.zcard(admitted.slot.key) == 0
    finally:
        await inspect.aclose()


async def test_credit_never_lets_replicas_exceed_the_rate(replicas) -> None:
    a, b = replicas
    item = rate_item(0.001, 400)  # 400 per window far longer than the test
    admitted = 0
    for n in range(1000):
        answer = await (a if n % 3 else b).admit("acme", item, "ask", 100, hold=60)
        if answer.wait == 0:
            admitted += 1
            if answer.slot is not None:
                (a if n % 3 else b).release_soon(answer.slot)
    # leased units a replica did not spend are lost to the tenant, never added: at most
    # one lease's worth (400 // 16) per replica
    assert 400 - 2 * 25 <= admitted <= 400


async def test_near_its_limit_no_slot_is_pooled(replicas) -> None:
    a, b = replicas
    many = rate_item(1000.0, 100_000)
    inspect = Redis.from_url(require_redis())
    try:
        first = (await a.admit("acme", many, "ask", 4, hold=60)).slot
        second = (await b.admit("acme", many, "ask", 4, hold=60)).slot
        third = (await a.admit("acme", many, "ask", 4, hold=60)).slot  # over half: not pooled
        assert first and second and third
        # a's pool is given back as soon as a sees the budget busy, its slots too on return
        a.release_soon(first)
        a.release_soon(third)
        await a.flush_releases()
        assert await inspect.zcard(first.key) == 1  # only b's
    finally:
        await inspect.aclose()
