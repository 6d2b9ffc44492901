"""Event-loop lag: how late a sleep wakes up, a direct measure of a blocked loop."""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import Histogram

LOOP_LAG = Histogram(
    "tradebus_event_loop_lag_seconds",
    "Delay of a scheduled wake-up in the event loop.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


class EventLoopLagMonitor:
    def __init__(self, interval: float = 0.5) -> None:
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self._interval)
            LOOP_LAG.observe(max(0.0, loop.time() - before - self._interval))
