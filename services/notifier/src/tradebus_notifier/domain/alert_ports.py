"""What alert evaluation reads its signals from (defaults in adapters/alert_signals.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from .alert_rules import Counts, RecallReading


class Signals(Protocol):
    async def retrieval(self, since: datetime) -> dict[str, Counts]:
        """(asks, empty retrievals) per tenant since `since`."""
        ...

    async def task_outcomes(self, since: datetime) -> dict[str, Counts]:
        """(finished, failed) tasks per kind since `since`."""
        ...

    async def latest_recall(self) -> dict[str, RecallReading]:
        """The latest recall evaluation per tenant."""
        ...


class QueueProbe(Protocol):
    async def read(self, queues: list[str]) -> dict[str, tuple[bool, int, int, int | None]]:
        """Per queue: (exists, ready, consumers, parked; None without a parking lot)."""
        ...
