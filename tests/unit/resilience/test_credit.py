"""A replica's credit on an online budget, on a clock the test moves: leases grow only
while they run out early, units expire, pooled slots serve calls their hold outlasts and
go back when idle or when the budget is busy."""

from __future__ import annotations

import asyncio

from tradebus_resilience._credit import IDLE_SECONDS, MAX_LEASE, UNITS_SECONDS, Credit


def test_a_lease_doubles_while_it_runs_out_early_and_restarts_at_one() -> None:
    credit, now, sizes = Credit(), 100.0, []
    for _ in range(9):  # a busy tenant: each lease spent at once
        assert not credit.take_unit(now)
        size = credit.lease_size(10_000)
        sizes.append(size)
        credit.leased(size, size, now)
        while credit.take_unit(now):
            pass
    assert sizes == [1, 2, 4, 8, 16, 32, 64, 64, 64] and MAX_LEASE == 64
    # a lease that lands while units are left adds to them; near the limit Redis gives one
    credit.leased(64, 64, now)
    credit.leased(2, 1, now)
    assert credit.units == 63 and credit.lease == 1
    # the tenant pauses: the leftover expires and the next lease is one unit
    credit.leased(64, 64, now)
    now += UNITS_SECONDS
    assert not credit.take_unit(now)
    assert credit.lease_size(10_000) == 1


async def test_a_lease_is_bounded_by_the_rate_and_one_at_a_time() -> None:
    credit = Credit(short=True, lease=64)
    assert credit.lease_size(100) == 6  # a sixteenth of the limit
    credit.lease_pending = asyncio.get_running_loop().create_future()
    assert credit.lease_size(10_000) == 1


def test_a_pooled_slot_serves_a_call_only_while_its_hold_outlasts_it() -> None:
    credit, now = Credit(pooling=True), 0.0
    credit.pool("t1", ends=70.0)
    assert credit.give_back("t1", now)
    assert credit.take_slot(now=15.0, hold=60.0) is None  # 55 s left, the call needs 60
    assert credit.take_slot(now=5.0, hold=60.0) == "t1"
    assert credit.take_slot(now=5.0, hold=60.0) is None  # in use


def test_idle_or_unservable_slots_are_swept_and_busy_budgets_pool_nothing() -> None:
    credit = Credit(pooling=True)
    credit.pool("idle", ends=100.0)
    credit.pool("near-end", ends=30.0)
    credit.pool("fresh", ends=100.0)
    credit.give_back("idle", 0.0)
    credit.give_back("near-end", IDLE_SECONDS)
    credit.give_back("fresh", IDLE_SECONDS)
    assert sorted(credit.sweep(IDLE_SECONDS, hold=60.0)) == ["idle", "near-end"]
    assert credit.sweep(IDLE_SECONDS, hold=60.0, everything=True) == ["fresh"]
    assert credit.pooled == {} and credit.free == {}
    credit.pooling = False
    credit.pool("t", ends=100.0)
    assert not credit.give_back("t", 0.0)  # back to Redis at once
    assert not credit.give_back("never-pooled", 0.0)
