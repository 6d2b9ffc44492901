"""The sliding-window counter's Retry-After: waiting it out admits the next request, and
waiting less does not (the script's own test, `fits`, is the judge)."""

from __future__ import annotations

import itertools

from tradebus_resilience.sliding_rate import fits, wait_seconds


def _after(limit: int, window: int, count: int, previous: int, elapsed: int, wait_ms: int) -> bool:
    """Whether a request fits `wait_ms` later, nothing else having arrived."""
    at = elapsed + wait_ms
    if at < window:
        return fits(limit, window, count, previous, at)
    if at < 2 * window:  # the next window: this one's count is its previous
        return fits(limit, window, 0, count, at - window)
    return fits(limit, window, 0, 0, at - 2 * window)


def test_waiting_the_answer_admits_and_waiting_less_does_not() -> None:
    window = 2000
    checked = 0
    for limit, count, previous, elapsed in itertools.product(
        (1, 5, 100), (0, 1, 4, 5, 99, 100), (0, 1, 5, 60, 100), range(0, window, 97)
    ):
        if count > limit or fits(limit, window, count, previous, elapsed):
            continue  # only refused states get a wait
        wait_ms = round(wait_seconds(limit, window, count, previous, elapsed) * 1000)
        assert _after(limit, window, count, previous, elapsed, wait_ms), (limit, count, elapsed)
        assert not _after(limit, window, count, previous, elapsed, wait_ms - 1)
        checked += 1
    assert checked > 200


def test_a_full_window_waits_into_the_next() -> None:
    # 10 per 1 s, all spent now, 400 ms in: the next window starts in 600 ms, and there
    # this window's 10 weigh 10 until a moment has passed.
    assert wait_seconds(10, 1000, 10, 0, 400) == 0.601
    # the previous window's weight must fall: 10 · (1000 - e) / 1000 < 10 - 5 at e > 500
    assert wait_seconds(10, 1000, 5, 10, 300) == 0.201
