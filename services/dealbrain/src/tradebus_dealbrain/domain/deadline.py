"""A request's deadline on the monotonic clock, and what a downstream call may spend of it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Deadline:
    at: float
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    @classmethod
    def after(cls, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    @classmethod
    def from_wall_clock(
        cls,
        deadline: datetime | None,
        *,
        default_seconds: float,
        now: datetime | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> Deadline:
        """The RPC deadline travels as wall-clock time; budgets are kept on the monotonic
        clock so a wall-clock step mid-request cannot stretch or cut them."""
        if deadline is None:
            return cls.after(default_seconds, clock=clock)
        left = (deadline - (now or datetime.now(UTC))).total_seconds()
        return cls.after(left, clock=clock)

    def remaining(self) -> float:
        return self.at - self.clock()

    def budget(self, reserve: float, *, cap: float | None = None) -> float:
        """Seconds a downstream call may take now: what is left once `reserve` is kept
        back (for the fallback and the reply), at most `cap`; never negative."""
        left = self.remaining() - reserve
        if cap is not None:
            left = min(left, cap)
        return max(0.0, left)
