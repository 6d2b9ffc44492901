"""When a failed delivery is tried again: a fixed schedule of the kind the best senders
use (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 27.6 h in all), a little
jitter so receivers recovering from an outage are not hit in lockstep, and a receiver's
Retry-After honoured (up to a cap) when it asks for longer than the schedule would wait."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

DEFAULT_DELAYS = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    # delays[i]: seconds to wait before attempt i + 1, counted from the failure of attempt i
    delays: tuple[int, ...] = DEFAULT_DELAYS
    retry_after_cap_seconds: float = 36000.0
    jitter_ratio: float = 0.1

    @property
    def max_attempts(self) -> int:
        return len(self.delays)

    def next_delay(
        self, attempt: int, *, retry_after: float | None = None, rng: random.Random | None = None
    ) -> int | None:
        """Seconds before the attempt after `attempt` (1-based), or None: no more."""
        if attempt >= len(self.delays):
            return None
        base = float(self.delays[attempt])
        delay = base + (rng or random).uniform(0, base * self.jitter_ratio)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_cap_seconds))
        return max(1, math.ceil(delay))
