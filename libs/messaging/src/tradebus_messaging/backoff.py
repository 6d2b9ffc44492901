"""How long to wait before reconnecting, or before re-opening a lost consumer."""

from __future__ import annotations

import random


def jittered_backoff(failures: int, cap: float) -> float:
    """Exponential from 0.2 s, capped, drawn from its upper half: replicas that lost
    the same broker do not all come back in the same instant."""
    delay = min(cap, 0.2 * 2 ** min(failures, 8))
    return random.uniform(delay / 2, delay)
