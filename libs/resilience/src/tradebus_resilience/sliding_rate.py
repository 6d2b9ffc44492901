"""The sliding-window counter's arithmetic, as the Redis script applies it: a request fits
when floor(previous · (window - elapsed) / window) + count + 1 ≤ limit. Pure, so the
Retry-After a refusal carries is tested without Redis."""

from __future__ import annotations

import math


def fits(limit: int, window_ms: int, count: int, previous: int, elapsed_ms: int) -> bool:
    """Whether one more request fits (the script's own test, for tests to compare)."""
    return math.floor(previous * (window_ms - elapsed_ms) / window_ms) + count + 1 <= limit


def wait_seconds(limit: int, window_ms: int, count: int, previous: int, elapsed_ms: int) -> float:
    """Seconds until one more request fits, for a refused one: the previous window's
    weight must fall below what the current window leaves (`limit - count`); when the
    current window is full, that happens in the next window, where this one's count is
    the previous one."""
    # In integers: previous · (window - e) < room · window  ⇔  e > window - room · window / previous
    if count < limit and previous > 0:
        at = (previous - (limit - count)) * window_ms // previous + 1
        wait_ms = at - elapsed_ms
    else:
        at = max(0, (count - limit) * window_ms // count + 1) if count > 0 else 0
        wait_ms = window_ms - elapsed_ms + at
    return max(0.001, wait_ms / 1000)
