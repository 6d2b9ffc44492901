"""A circuit breaker: closed → open after N consecutive failures, half-open after a
cool-down (a bounded number of probe calls), closed again on a probe's success.

Hand-written rather than a library: it is one small state machine, and we need an
injectable clock for tests, a bounded half-open probe count and the state as a metric,
which the maintained async breakers (purgatory, aiobreaker) do not all expose."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum


class State(IntEnum):  # values are the metric's encoding
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int,
        reset_seconds: float,
        half_open_calls: int = 1,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[State], None] | None = None,
    ) -> None:
        self._threshold = failure_threshold
        self._reset = reset_seconds
        self._half_open_calls = half_open_calls
        self._clock = clock
        self._on_change = on_change
        self._state = State.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0

    @property
    def state(self) -> State:
        if self._state is State.OPEN and self._clock() - self._opened_at >= self._reset:
            self._set(State.HALF_OPEN)
        return self._state

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        if self.state is not State.OPEN:
            return 0.0
        return max(0.0, self._reset - (self._clock() - self._opened_at))

    def try_acquire(self) -> bool:
        """May a call go out now? In half-open, only the probe budget may."""
        state = self.state
        if state is State.CLOSED:
            return True
        if state is State.HALF_OPEN and self._probes < self._half_open_calls:
            self._probes += 1
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        if self._state is not State.CLOSED:
            self._set(State.CLOSED)

    def record_failure(self) -> None:
        if self._state is State.HALF_OPEN:
            self._trip()
            return
        self._failures += 1
        if self._state is State.CLOSED and self._failures >= self._threshold:
            self._trip()

    def release_probe(self) -> None:
        """A half-open probe ended without a verdict (e.g. cancelled)."""
        if self._state is State.HALF_OPEN and self._probes > 0:
            self._probes -= 1

    def _trip(self) -> None:
        self._opened_at = self._clock()
        self._failures = 0
        self._set(State.OPEN)

    def _set(self, state: State) -> None:
        if state is self._state:
            return
        self._state = state
        self._probes = 0
        if self._on_change is not None:
            self._on_change(state)
