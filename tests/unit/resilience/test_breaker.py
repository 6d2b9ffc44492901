"""The breaker's state machine, driven by a fake clock."""

from __future__ import annotations

import pytest

from tradebus_resilience import CircuitBreaker, State


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def breaker(clock: FakeClock, *, probes: int = 1, changes: list[State] | None = None):
    return CircuitBreaker(
        failure_threshold=3,
        reset_seconds=10.0,
        half_open_calls=probes,
        clock=clock,
        on_change=None if changes is None else changes.append,
    )


def test_opens_after_the_threshold_of_consecutive_failures(clock: FakeClock) -> None:
    b = breaker(clock)
    for _ in range(2):
        assert b.try_acquire()
        b.record_failure()
    assert b.state is State.CLOSED
    b.record_failure()
    assert b.state is State.OPEN
    assert not b.try_acquire()
    assert b.retry_in() == pytest.approx(10.0)


def test_a_success_resets_the_consecutive_count(clock: FakeClock) -> None:
    b = breaker(clock)
    b.record_failure()
    b.record_failure()
    b.record_success()
    b.record_failure()
    b.record_failure()
    assert b.state is State.CLOSED


def test_half_open_after_the_reset_time_lets_only_the_probe_budget_through(
    clock: FakeClock,
) -> None:
    b = breaker(clock, probes=2)
    for _ in range(3):
        b.record_failure()
    clock.advance(9.9)
    assert b.state is State.OPEN and not b.try_acquire()
    assert b.retry_in() == pytest.approx(0.1)
    clock.advance(0.1)
    assert b.state is State.HALF_OPEN and b.retry_in() == 0.0
    assert b.try_acquire() and b.try_acquire()
    assert not b.try_acquire()  # the third caller is refused while two probes are out


def test_a_failed_probe_reopens_for_a_full_reset_period(clock: FakeClock) -> None:
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.advance(10)
    assert b.try_acquire()
    b.record_failure()
    assert b.state is State.OPEN
    clock.advance(9.9)
    assert not b.try_acquire()
    clock.advance(0.1)
    assert b.try_acquire()


def test_a_successful_probe_closes(clock: FakeClock) -> None:
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.advance(10)
    assert b.try_acquire()
    b.record_success()
    assert b.state is State.CLOSED
    assert all(b.try_acquire() for _ in range(5))
    b.record_failure()
    b.record_failure()
    assert b.state is State.CLOSED  # the count started again from zero


def test_a_probe_without_verdict_gives_its_slot_back(clock: FakeClock) -> None:
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.advance(10)
    assert b.try_acquire() and not b.try_acquire()
    b.release_probe()
    assert b.state is State.HALF_OPEN and b.try_acquire()


def test_every_transition_is_reported_once(clock: FakeClock) -> None:
    changes: list[State] = []
    b = breaker(clock, changes=changes)
    for _ in range(4):
        b.record_failure()  # the fourth, while open, changes nothing
    clock.advance(10)
    b.try_acquire()
    b.record_failure()
    clock.advance(10)
    b.try_acquire()
    b.record_success()
    assert changes == [State.OPEN, State.HALF_OPEN, State.OPEN, State.HALF_OPEN, State.CLOSED]
