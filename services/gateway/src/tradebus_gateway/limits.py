"""Pure admission arithmetic: per-tenant token buckets, queue-depth admission and
in-flight budgets."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    rate: float  # tokens per second
    burst: float
    tokens: float
    stamp: float

    def take(self, now: float) -> float:
        """Take one token; returns 0 when allowed, else seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class TenantRateLimiter:
    """One bucket per tenant; the least recently used buckets are forgotten (a forgotten
    bucket comes back full, which only ever errs towards admitting)."""

    rate: float
    burst: int
    max_tenants: int = 10_000
    _buckets: OrderedDict[str, TokenBucket] = field(default_factory=OrderedDict)

    def check(self, tenant_id: str, now: float) -> float:
        bucket = self._buckets.get(tenant_id)
        if bucket is None:
            bucket = TokenBucket(self.rate, self.burst, self.burst, now)
            self._buckets[tenant_id] = bucket
            if len(self._buckets) > self.max_tenants:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(tenant_id)
        return bucket.take(now)


@dataclass
class DrainEstimator:
    """Messages per second leaving a queue, from successive depth samples and what this
    process published in between (depth alone hides arrivals). Exponentially smoothed."""

    alpha: float = 0.3
    rate: float | None = None
    _last: tuple[float, int] | None = None

    def observe(self, now: float, depth: int, published_since: int) -> None:
        if self._last is not None:
            then, before = self._last
            elapsed = now - then
            if elapsed > 0:
                drained = max(0.0, (before + published_since - depth) / elapsed)
                self.rate = (
                    drained
                    if self.rate is None
                    else self.alpha * drained + (1 - self.alpha) * self.rate
                )
        self._last = (now, depth)


def retry_after_seconds(depth: int, limit: int, drain_rate: float | None, cap: int) -> int:
    """How long until the queue is back under its limit at the observed drain rate."""
    excess = depth - limit + 1
    if drain_rate is None or drain_rate <= 0:
        return cap
    return max(1, min(cap, math.ceil(excess / drain_rate)))


@dataclass
class InFlightBudget:
    """How many calls of one kind may be outstanding at once. A full budget refuses at
    once (the caller answers 429) rather than waiting: a queue of callers in front of a
    slow downstream only turns into a wall of timeouts. Used from one event loop, so a
    plain counter is enough."""

    limit: int
    in_flight: int = 0

    def try_acquire(self) -> bool:
        if self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)
