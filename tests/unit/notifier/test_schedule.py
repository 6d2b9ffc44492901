import random

from tradebus_notifier.domain.schedule import DEFAULT_DELAYS, RetrySchedule


def test_the_default_schedule_is_seconds_then_minutes_then_hours_for_about_a_day() -> None:
    assert DEFAULT_DELAYS == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert 24 * 3600 < sum(DEFAULT_DELAYS) < 30 * 3600
    schedule = RetrySchedule(jitter_ratio=0)
    assert [schedule.next_delay(n) for n in range(1, 9)] == [
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        36000,
        None,
    ]
    assert schedule.max_attempts == 8


def test_jitter_only_lengthens_and_stays_within_its_ratio() -> None:
    schedule = RetrySchedule(jitter_ratio=0.1)
    rng = random.Random(7)
    for _ in range(200):
        delay = schedule.next_delay(2, rng=rng)
        assert delay is not None and 300 <= delay <= 330


def test_retry_after_is_honoured_when_longer_and_capped() -> None:
    schedule = RetrySchedule(jitter_ratio=0, retry_after_cap_seconds=3600)
    assert schedule.next_delay(1, retry_after=120) == 120  # longer than the 5 s step
    assert schedule.next_delay(3, retry_after=120) == 1800  # shorter: the schedule wins
    assert schedule.next_delay(1, retry_after=10**9) == 3600  # capped
    assert schedule.next_delay(8, retry_after=5) is None  # the schedule has ended


def test_a_short_schedule_from_settings() -> None:
    schedule = RetrySchedule((0, 1, 1), jitter_ratio=0)
    assert [schedule.next_delay(n) for n in (1, 2, 3)] == [1, 1, None]
