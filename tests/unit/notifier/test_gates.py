"""Per-subscription gates: a bounded wait for a slot, then deferral."""

from __future__ import annotations

import asyncio

from tradebus_notifier.gates import Gates


def gates(limit: int = 1) -> Gates:
    return Gates(concurrency=limit, breaker_failure_threshold=2, breaker_reset_seconds=60)


async def test_a_free_gate_admits_at_once_and_a_full_one_refuses_without_waiting() -> None:
    gate = gates().get("wh_1")
    assert await gate.acquire(0)
    assert not await gate.acquire(0)
    await gate.release()
    assert await gate.acquire(0)


async def test_a_waiter_gets_the_slot_when_it_frees() -> None:
    gate = gates().get("wh_1")
    assert await gate.acquire(0)
    waiting = asyncio.create_task(gate.acquire(1.0))
    await asyncio.sleep(0.01)
    await gate.release()
    assert await waiting and gate.in_flight == 1


async def test_a_wait_is_bounded_and_so_is_the_number_of_waiters() -> None:
    gate = gates().get("wh_1")
    assert await gate.acquire(0)
    first = asyncio.create_task(gate.acquire(0.2))
    await asyncio.sleep(0.01)
    assert not await gate.acquire(0.2)  # one waiter per slot already waits: defer at once
    assert not await first  # nobody released within its wait
    assert gate.waiters == 0


async def test_gates_are_per_subscription() -> None:
    g = gates()
    assert await g.get("wh_1").acquire(0)
    assert await g.get("wh_2").acquire(0)
    assert g.get("wh_1") is g.get("wh_1")
