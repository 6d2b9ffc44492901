"""Limits that hold across replicas: rates (a gateway tenant's requests, a consumer's
messages) and in-flight budgets. They live in Redis when a Redis URL is set (the shared
store operators already run beside such platforms), in this process otherwise. When Redis
fails, the limits fall back to this replica's own counters instead of failing the work: a
limit protects the platform, it must not take it down with it.

Rates use the `limits` library: the sliding-window counter by default (two counters per
key and window, one round trip, approximate at window edges), the moving window where a
rate must never be exceeded (a log per key: for low rates such as an LLM's budget).
In-flight budgets are a Redis sorted set per key: a member per holder, scored by when it
expires, so a replica that dies holding slots gives them back by their deadline instead
of leaking them."""

from __future__ import annotations

import functools
import math
import time
import uuid
from collections import Counter as Tally
from dataclasses import dataclass
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

log = structlog.get_logger(__name__)

FALLBACKS = Counter(
    "tradebus_limits_fallback_total",
    "Limit checks answered by this replica's own counters because Redis failed.",
    ["limit"],
)

# KEYS[1]: the budget's sorted set. ARGV: limit, token, hold (ms).
# The server's clock scores the members, so replicas' clocks never disagree about expiry.
_ACQUIRE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
  return 1
end
return 0
"""


@functools.cache
def rate_item(rate_per_second: float, burst: int) -> RateLimitItem:
    """`burst` requests per window of burst/rate seconds: the long-run rate is `rate`,
    and a quiet tenant may spend up to `burst` at once. Windows are whole seconds, so a
    burst below one second's worth of the rate becomes that."""
    window = max(1, math.ceil(burst / rate_per_second))
    return RateLimitItemPerSecond(max(1, round(rate_per_second * window)), window)


@dataclass(frozen=True, slots=True)
class Slot:
    """One held in-flight slot; give it back with `SharedLimits.release`."""

    key: str
    token: str
    shared: bool  # held in Redis (else in this replica's counters)


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
        self._shared: RateLimiter | None = None
        if redis_url:
            self._redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
            self._acquire = self._redis.register_script(_ACQUIRE)
            storage: Storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix=f"{prefix}:rate",
                socket_timeout=0.5,
                socket_connect_timeout=0.5,
            )
            self._shared = strategy(storage)

    @property
    def shared(self) -> bool:
        return self._redis is not None

    async def rate(self, key: str, item: RateLimitItem) -> float:
        """Take one unit of `key`'s rate: 0 when allowed, else seconds to wait."""
        if self._shared is not None and self._up():
            try:
                return await self._take(self._shared, item, key)
            except Exception as exc:  # any Redis failure: degrade, never fail the request
                self._fell_back("rate", exc)
        else:
            self._count_fallback("rate")
        return await self._take(self._local, item, key)

    async def acquire(self, scope: str, key: str, limit: int, hold: float) -> Slot | None:
        """A slot of `key`'s `scope` budget, held at most `hold` seconds (the call's
        deadline plus a margin), or None when `key` already has `limit` in flight."""
        key = f"{self._prefix}:inflight:{scope}:{key}"
        token = uuid.uuid4().hex
        if self._redis is not None and self._up():
            try:
                hold_ms = max(1, math.ceil(hold * 1000))
                got = await self._acquire(keys=[key], args=[limit, token, hold_ms])
                return Slot(key, token, shared=True) if got == 1 else None
            except Exception as exc:
                self._fell_back("in_flight", exc)
        else:
            self._count_fallback("in_flight")
        if self._local_in_flight[key] >= limit:
            return None
        self._local_in_flight[key] += 1
        return Slot(key, token, shared=False)

    async def release(self, slot: Slot) -> None:
        if not slot.shared:
            self._local_in_flight[slot.key] -= 1
            if self._local_in_flight[slot.key] <= 0:
                del self._local_in_flight[slot.key]
            return
        assert self._redis is not None
        try:
            await self._redis.zrem(slot.key, slot.token)
        except Exception as exc:  # the slot expires at its deadline instead
            log.warning("in-flight slot not released; it expires", error=str(exc))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
        if self._shared is not None:
            storage: Any = self._shared.storage
            close = getattr(storage, "close", None)
            if close is not None:
                await close()

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
