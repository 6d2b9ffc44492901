"""Limits that hold across replicas: rates (a gateway tenant's requests, a consumer's
messages) and in-flight budgets. They live in Redis when a Redis URL is set (the shared
store operators already run beside such platforms), in this process otherwise. When Redis
fails, the limits fall back to this replica's own counters instead of failing the work: a
limit protects the platform, it must not take it down with it.

Shared rates are a sliding-window counter (two counters per key, approximate at window
edges) and in-flight budgets a sorted set per key, each a Lua script (`_limit_scripts`):
one round trip per check, and one for an online call's rate and slot together (`admit`).
Far from a tenant's limits (at most half of each used), `admit` leases rate units in
doubling batches and keeps given-back slots for its next calls (`_credit`), so most calls
need no round trip; the limits still hold exactly, as leased units and pooled slots are
counted in Redis. Slots are given back without waiting (`release_soon`: off the caller's
path, batched); every slot also ends with its hold, so a replica that dies holding slots
leaks none (a pooled one, `POOL_SECONDS` later).
Where a rate must never be exceeded (`exact`, for low rates such as an LLM's budget), the
`limits` library's moving window (a log per key) holds it instead. The in-process
fallback uses the `limits` library's memory storage."""

from __future__ import annotations

import functools
import math
import time
import uuid
from collections import Counter as Tally
from typing import Any

import structlog
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import (
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from prometheus_client import Counter
from redis.asyncio import Redis

from . import _limit_scripts as scripts
from ._admit import Admission, CreditedAdmission, Slot, ms, rate_wait, window
from ._releases import PendingReleases

log = structlog.get_logger(__name__)

FALLBACKS = Counter(
    "tradebus_limits_fallback_total",
    "Limit checks answered by this replica's own counters because Redis failed.",
    ["limit"],
)


@functools.cache
def rate_item(rate_per_second: float, burst: int) -> RateLimitItem:
    """`burst` requests per window of burst/rate seconds: the long-run rate is `rate`,
    and a quiet tenant may spend up to `burst` at once. Windows are whole seconds, so a
    burst below one second's worth of the rate becomes that."""
    window = max(1, math.ceil(burst / rate_per_second))
    return RateLimitItemPerSecond(max(1, round(rate_per_second * window)), window)


class SharedLimits:
    def __init__(
        self,
        redis_url: str | None,
        *,
        prefix: str = "tradebus",
        retry_after: float = 5.0,
        exact: bool = False,
    ) -> None:
        self._prefix = prefix
        strategy: type[RateLimiter] = (
            MovingWindowRateLimiter if exact else SlidingWindowCounterRateLimiter
        )
        # After a failure Redis is left alone this long: an unreachable store must not
        # cost every request a connect timeout.
        self._retry_after = retry_after
        self._down_until = 0.0
        self._local: RateLimiter = strategy(MemoryStorage())
        self._local_in_flight: Tally[str] = Tally()
        self._redis: Redis | None = None
        self._exact_shared: RateLimiter | None = None
        if redis_url:
            self._redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
            self._rate = self._redis.register_script(scripts.RATE)
            self._in_flight = self._redis.register_script(scripts.IN_FLIGHT)
            self._releases = PendingReleases(self._redis)
            self._credited = CreditedAdmission(
                self._redis.register_script(scripts.ADMIT), self._releases
            )
            if exact:
                storage: Storage = RedisStorage(
                    "async+" + redis_url,
                    implementation="redispy",
                    key_prefix=f"{prefix}:rate",
                    socket_timeout=0.5,
                    socket_connect_timeout=0.5,
                )
                self._exact_shared = MovingWindowRateLimiter(storage)

    @property
    def shared(self) -> bool:
        return self._redis is not None

    async def rate(self, key: str, item: RateLimitItem) -> float:
        """Take one unit of `key`'s rate: 0 when allowed, else seconds to wait."""
        if self._redis is not None and self._up():
            try:
                if self._exact_shared is not None:
                    return await self._take(self._exact_shared, item, key)
                answer = await self._rate(keys=[self._rate_key(key, item)], args=window(item))
                return rate_wait(item, answer)
            except Exception as exc:  # any Redis failure: degrade, never fail the request
                self._fell_back("rate", exc)
        else:
            self._count_fallback("rate")
        return await self._take(self._local, item, key)

    async def acquire(self, scope: str, key: str, limit: int, hold: float) -> Slot | None:
        """A slot of `key`'s `scope` budget, held at most `hold` seconds (the call's
        deadline plus a margin), or None when `key` already has `limit` in flight."""
        budget = self._budget_key(scope, key)
        token = uuid.uuid4().hex
        if self._redis is not None and self._up():
            try:
                riding = self._releases.riding(budget)
                got = await self._in_flight(keys=[budget], args=[limit, token, ms(hold), *riding])
                self._releases.removed(budget, riding)
                return Slot(budget, token, shared=True) if got == 1 else None
            except Exception as exc:
                self._fell_back("in_flight", exc)
        else:
            self._count_fallback("in_flight")
        return self._take_local_slot(budget, token, limit)

    async def admit(
        self, subject: str, item: RateLimitItem, scope: str, limit: int, hold: float
    ) -> Admission:
        """One unit of `subject`'s rate, then a slot of its `scope` budget (as `rate`
        followed by `acquire`), in one round trip."""
        if self._redis is None or self._exact_shared is not None or not self._up():
            wait = await self.rate(subject, item)
            if wait > 0:
                return Admission(None, wait)
            return Admission(await self.acquire(scope, subject, limit, hold))
        budget = self._budget_key(scope, subject)
        try:
            return await self._credited.admit(
                self._rate_key(subject, item), budget, item, limit, hold
            )
        except Exception as exc:
            self._fell_back("admit", exc)
            wait = await self._take(self._local, item, subject)
            if wait > 0:
                return Admission(None, wait)
            return Admission(self._take_local_slot(budget, uuid.uuid4().hex, limit))

    def release_soon(self, slot: Slot) -> None:
        """Give `slot` back without waiting: a shared slot's removal rides along with
        this replica's next take of the budget, or leaves within milliseconds with the
        other removals no take carried (`_releases`)."""
        if not slot.shared:
            self._release_local(slot)
            return
        assert self._redis is not None
        self._credited.release_soon(slot)

    async def release(self, slot: Slot) -> None:
        """Give `slot` back and wait until Redis has it."""
        if not slot.shared:
            self._release_local(slot)
            return
        assert self._redis is not None
        self._credited.forget(slot)
        try:
            await self._redis.zrem(slot.key, slot.token)
        except Exception as exc:  # the slot expires at its deadline instead
            log.warning("in-flight slot not released; it expires", error=str(exc))

    async def flush_releases(self) -> None:
        """Send the removals `release_soon` has pending and wait for them (shutdown; and
        tests, which cannot wait on a timer)."""
        if self._redis is not None:
            await self._releases.drain()

    async def close(self) -> None:
        if self._redis is not None:
            self._credited.give_back_all()
            await self._releases.drain()
            await self._redis.aclose()
        if self._exact_shared is not None:
            storage: Any = self._exact_shared.storage
            close = getattr(storage, "close", None)
            if close is not None:
                await close()

    def _rate_key(self, subject: str, item: RateLimitItem) -> str:
        # The limit and window are part of the key, so a changed setting starts afresh.
        return f"{self._prefix}:rate:{subject}:{item.amount}/{item.get_expiry()}"

    def _budget_key(self, scope: str, key: str) -> str:
        return f"{self._prefix}:inflight:{scope}:{key}"

    def _take_local_slot(self, budget: str, token: str, limit: int) -> Slot | None:
        if self._local_in_flight[budget] >= limit:
            return None
        self._local_in_flight[budget] += 1
        return Slot(budget, token, shared=False)

    def _release_local(self, slot: Slot) -> None:
        self._local_in_flight[slot.key] -= 1
        if self._local_in_flight[slot.key] <= 0:
            del self._local_in_flight[slot.key]

    @staticmethod
    async def _take(limiter: RateLimiter, item: RateLimitItem, key: str) -> float:
        if await limiter.hit(item, key):
            return 0.0
        stats = await limiter.get_window_stats(item, key)
        return max(0.001, stats.reset_time - time.time())

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _count_fallback(self, limit: str) -> None:
        if self._redis is not None:  # configured, but resting after a failure
            FALLBACKS.labels(limit).inc()

    def _fell_back(self, limit: str, exc: Exception) -> None:
        self._down_until = time.monotonic() + self._retry_after
        FALLBACKS.labels(limit).inc()
        log.warning(
            "redis failed; this replica's own limits apply",
            limit=limit,
            error=str(exc),
            retry_in_seconds=self._retry_after,
        )
