"""An online call's admission against Redis, spending this replica's credit first
(_credit.py): a unit of the tenant's rate and a slot of its in-flight budget, from the
credit when it has both, else in one script call that also renews the credit."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem
from redis.commands.core import AsyncScript

from . import sliding_rate
from ._credit import POOL_SECONDS, Credit
from ._releases import PendingReleases

NO_SLOT_ASKED, FULL, HELD, POOLED = -1, 0, 1, 2  # the script's answer for the slot


@dataclass(frozen=True, slots=True)
class Slot:
    """One held in-flight slot; give it back with `SharedLimits.release_soon`."""

    key: str
    token: str
    shared: bool  # held in Redis (else in this replica's counters)


@dataclass(frozen=True, slots=True)
class Admission:
    """An online call's two checks: `slot` when both passed; else `wait` > 0 when the
    rate refused (seconds until it allows one more), 0 when the in-flight budget did."""

    slot: Slot | None
    wait: float = 0.0


class CreditedAdmission:
    def __init__(self, script: AsyncScript, releases: PendingReleases) -> None:
        self._script = script
        self._releases = releases
        self._credits: dict[str, Credit] = {}
        self._holds: dict[str, float] = {}  # budget -> the hold its calls last asked
        self._sweep_timer: asyncio.TimerHandle | None = None

    async def admit(
        self, rate_key: str, budget: str, item: RateLimitItem, limit: int, hold: float
    ) -> Admission:
        """Raises what Redis raised: the caller falls back to its own counters."""
        credit = self._credits.get(budget)
        if credit is None:
            credit = self._credits[budget] = Credit()
        self._holds[budget] = hold
        unit = credit.take_unit(time.monotonic())
        if not unit and credit.lease_pending is not None:
            with contextlib.suppress(Exception):  # a failed lease: this call asks itself
                await asyncio.shield(credit.lease_pending)
            unit = credit.take_unit(time.monotonic())
        now = time.monotonic()
        token = credit.take_slot(now, hold)
        if unit and token is not None:
            return Admission(Slot(budget, token, shared=True))
        want = 0 if unit else credit.lease_size(item.amount)
        new_token = "" if token is not None else uuid.uuid4().hex  # '': no slot asked
        riding = self._releases.riding(budget)
        lease = None
        if want > 1:
            lease = credit.lease_pending = asyncio.get_running_loop().create_future()
        try:
            answer = await self._script(
                keys=[rate_key, budget],
                args=[*window(item), limit, new_token, ms(hold), ms(POOL_SECONDS), want, *riding],
            )
        except BaseException:
            credit.put_back(token, now)
            raise
        finally:
            # The waiters wake after this call has stored the units (it runs on without
            # yielding until it returns).
            if lease is not None:
                credit.lease_pending = None
                lease.set_result(None)
        if answer[0] == 0:
            credit.put_back(token, now)
            return Admission(None, rate_wait(item, answer))
        self._releases.removed(budget, riding)
        _, taken, slot = (int(v) for v in answer)
        now = time.monotonic()
        if want > 0:
            credit.leased(want, taken, now)
        if slot != NO_SLOT_ASKED:
            credit.pooling = slot == POOLED
            if not credit.pooling:  # the budget is busy: what is pooled here goes back
                self._give_back(budget, credit.sweep(now, hold, everything=True))
        if token is None:
            if slot == FULL:
                return Admission(None)
            if slot == POOLED:
                credit.pool(new_token, now + hold + POOL_SECONDS)
            token = new_token
        return Admission(Slot(budget, token, shared=True))

    def release_soon(self, slot: Slot) -> None:
        credit = self._credits.get(slot.key)
        if credit is not None and credit.give_back(slot.token, time.monotonic()):
            self._schedule_sweep()
            return
        self._releases.add(slot.key, slot.token)

    def forget(self, slot: Slot) -> None:
        """`slot` is released directly: never to be pooled again."""
        credit = self._credits.get(slot.key)
        if credit is not None:
            credit.pooled.pop(slot.token, None)
            credit.free.pop(slot.token, None)

    def give_back_all(self) -> None:
        """Every free pooled slot back to Redis (at shutdown)."""
        now = time.monotonic()
        for budget, credit in self._credits.items():
            self._give_back(budget, credit.sweep(now, 0.0, everything=True))

    def _give_back(self, budget: str, tokens: list[str]) -> None:
        for token in tokens:
            self._releases.add(budget, token)

    def _schedule_sweep(self) -> None:
        if self._sweep_timer is None:
            loop = asyncio.get_running_loop()
            self._sweep_timer = loop.call_later(0.1, self._sweep)

    def _sweep(self) -> None:
        self._sweep_timer = None
        now, pooled = time.monotonic(), False
        for budget, credit in list(self._credits.items()):
            self._give_back(budget, credit.sweep(now, self._holds.get(budget, 0.0)))
            pooled = pooled or bool(credit.free)
            if not credit.pooled and credit.units == 0:
                del self._credits[budget]  # nothing held here for it: forget the tenant
                self._holds.pop(budget, None)
        if pooled:
            self._schedule_sweep()


def window(item: RateLimitItem) -> tuple[int, int]:
    return item.amount, item.get_expiry() * 1000


def ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def rate_wait(item: RateLimitItem, answer: list[Any]) -> float:
    """0 for a unit taken, else the wait of the script's refusal."""
    if answer[0] != 0:
        return 0.0
    _, count, previous, elapsed = (int(v) for v in answer)
    limit, window_ms = window(item)
    return sliding_rate.wait_seconds(limit, window_ms, count, previous, elapsed)
