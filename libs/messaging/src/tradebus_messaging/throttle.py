"""A consumption rate limit per endpoint that holds across every replica (an LLM's budget:
session summaries at `10/minute` however many dealbrain pods run).

A delivery waits for its slot before its handler starts, unacked: the backlog stays in
the broker, where it is visible and durable, and nothing is re-published in a loop. The
wait is bounded by the prefetch and concurrency of the endpoint, and a consumer that
stops leaves waiting deliveries to be redelivered. The rate is `limits`' moving window,
kept in Redis when a URL is set (exact across replicas), per replica otherwise."""

from __future__ import annotations

import asyncio
import random

from limits import RateLimitItem, parse
from prometheus_client import Counter

from tradebus_resilience import SharedLimits

WAITED = Counter(
    "tradebus_throttle_wait_seconds_total",
    "Seconds deliveries waited for their endpoint's rate limit before their handler ran.",
    ["queue"],
)

# Waiters re-check at least this often: the limit may free up earlier than the first
# answer said (another replica's Redis view, a fallback that ended).
_MAX_SLEEP = 5.0


def parse_rate(text: str) -> RateLimitItem:
    """`10/minute`, `5 per second`, `100/hour` (the `limits` notation); ValueError else."""
    return parse(text)


class Throttle:
    def __init__(self, queue: str, rate: str, limits: SharedLimits) -> None:
        self._queue, self._item, self._limits = queue, parse_rate(rate), limits
        self._waited = WAITED.labels(queue)

    async def admit(self) -> None:
        """Return once this delivery may run."""
        while (wait := await self._limits.rate(f"consume:{self._queue}", self._item)) > 0:
            pause = min(wait, _MAX_SLEEP) * random.uniform(1.0, 1.1)  # no herd at the edge
            self._waited.inc(pause)
            await asyncio.sleep(pause)
