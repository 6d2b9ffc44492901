"""Shared limits in their in-process mode (Redis is exercised by the integration tests)."""

from __future__ import annotations

from tradebus_resilience import SharedLimits, rate_item


def test_rate_item_keeps_the_long_run_rate_and_the_burst() -> None:
    item = rate_item(50.0, 100)
    assert (item.amount, item.get_expiry()) == (100, 2)
    slow = rate_item(0.5, 1)  # one request per two seconds
    assert (slow.amount, slow.get_expiry()) == (1, 2)
    # the windows are whole seconds: a burst below one second's worth becomes that
    assert rate_item(5.0, 2).amount == 5


async def test_rate_allows_the_burst_then_says_how_long_to_wait() -> None:
    limits = SharedLimits(None)
    item = rate_item(5.0, 10)
    waits = [await limits.rate("acme", item) for _ in range(11)]
    assert waits[:10] == [0.0] * 10 and 0 < waits[10] <= 2
    assert await limits.rate("globex", item) == 0.0  # another tenant's own window


async def test_in_flight_slots_are_per_tenant_and_given_back() -> None:
    limits = SharedLimits(None)
    held = [await limits.acquire("ask", "acme", 2, hold=5) for _ in range(2)]
    assert all(held) and await limits.acquire("ask", "acme", 2, hold=5) is None
    assert await limits.acquire("ask", "globex", 2, hold=5) is not None
    assert await limits.acquire("hunt", "acme", 2, hold=5) is not None
    slot = held[0]
    assert slot is not None
    await limits.release(slot)
    assert await limits.acquire("ask", "acme", 2, hold=5) is not None


async def test_an_unreachable_redis_degrades_to_this_replicas_limits() -> None:
    limits = SharedLimits("redis://127.0.0.1:1/0")  # nothing listens on port 1
    item = rate_item(1.0, 2)
    assert [await limits.rate("acme", item) for _ in range(2)] == [0.0, 0.0]
    assert await limits.rate("acme", item) > 0  # still limited, by this replica
    slot = await limits.acquire("ask", "acme", 1, hold=5)
    assert slot is not None and not slot.shared
    assert await limits.acquire("ask", "acme", 1, hold=5) is None
    await limits.close()


async def test_admit_takes_the_rate_then_a_slot_and_says_which_refused() -> None:
    limits = SharedLimits(None)
    item = rate_item(0.001, 2)  # 2 per 2,000 s
    first = await limits.admit("acme", item, "ask", 1, hold=5)
    assert first.slot is not None and not first.slot.shared
    busy = await limits.admit("acme", item, "ask", 1, hold=5)
    assert (busy.slot, busy.wait) == (None, 0.0)  # the budget refused, the unit was taken
    limits.release_soon(first.slot)
    limited = await limits.admit("acme", item, "ask", 1, hold=5)
    assert limited.slot is None and limited.wait > 0  # the rate refused
    assert (await limits.admit("globex", item, "ask", 1, hold=5)).slot is not None
