"""Admission control for ingest work: sample the queue's ready depth in the background so
a request is judged from memory, before any work is done (no broker round trip)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from tradebus_messaging import Bus

from .limits import DrainEstimator, retry_after_seconds

log = structlog.get_logger(__name__)


class QueueAdmission:
    def __init__(
        self, bus: Bus, queue: str, *, limit: int, interval: float, retry_after_cap: int
    ) -> None:
        self._bus, self._queue, self._limit = bus, queue, limit
        self._interval, self._cap = interval, retry_after_cap
        self._estimator = DrainEstimator()
        self._published = 0
        self.depth: int | None = None
        self._task: asyncio.Task[None] | None = None

    def published(self, count: int = 1) -> None:
        """Arrivals this process caused, so the drain estimate is not fooled by them."""
        self._published += count
        if self.depth is not None:
            self.depth += count

    def check(self) -> int:
        """0 when admitted, else the Retry-After seconds to answer with."""
        if self.depth is None or self.depth < self._limit:
            return 0
        return retry_after_seconds(self.depth, self._limit, self._estimator.rate, self._cap)

    async def sample(self) -> None:
        published, self._published = self._published, 0
        depth = await self._bus.queue_depth(self._queue)
        self._estimator.observe(time.monotonic(), depth, published)
        self.depth = depth

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="admission-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.sample()
            except Exception as exc:  # queue not declared yet, broker away: keep sampling
                log.debug("admission sample failed", queue=self._queue, error=str(exc))
            await asyncio.sleep(self._interval)
