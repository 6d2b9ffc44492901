"""Calling providers: the request's deadline, and the process-wide fan-out gate.

The gate is one semaphore shared by every request in the process: twenty concurrent hunts
against four providers put at most `fanout_limit` calls in flight, not eighty. Each
provider's own Downstream budget (concurrency, retries, breaker) applies underneath it.
A call that cannot get a slot, or an answer, before the deadline becomes an outcome, not
an exception: the reply is partial, never late."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

import structlog
from prometheus_client import Counter, Gauge

from tradebus_providers.types import SearchProvider, SearchResult
from tradebus_resilience import DownstreamError

log = structlog.get_logger(__name__)
T = TypeVar("T")

OK, TIMEOUT, ERROR, CIRCUIT_OPEN, BUSY = "ok", "timeout", "error", "circuit_open", "busy"
# A provider asked several queries reports its worst outcome.
SEVERITY = {OK: 0, BUSY: 1, CIRCUIT_OPEN: 2, TIMEOUT: 3, ERROR: 4}

GATE_IN_FLIGHT = Gauge(
    "tradebus_shadowhunter_fanout_in_flight", "Provider calls holding a fan-out gate slot."
)
PROVIDER_CALLS = Counter(
    "tradebus_shadowhunter_provider_calls_total",
    "Provider calls by outcome (ok, timeout, error, circuit_open, busy).",
    ["provider", "outcome"],
)


@dataclass(frozen=True, slots=True)
class Deadline:
    """When the reply is due (monotonic), and how much of the time before it downstream
    calls may use: all but `reserve`, which is kept to rank and send the reply."""

    at: float
    reserve: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def of(
        cls,
        due: datetime | None,
        *,
        default_seconds: float,
        reserve_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> Deadline:
        budget = default_seconds
        if due is not None:
            budget = (due - datetime.now(UTC)).total_seconds()
        return cls(clock() + budget, reserve_seconds, clock)

    def remaining(self) -> float:
        """Seconds a downstream call may still take (≤ 0: none)."""
        return self.at - self.reserve - self.clock()


def outcome_of(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return TIMEOUT
    if isinstance(exc, DownstreamError):
        reason = exc.reason
        return reason if reason in (TIMEOUT, CIRCUIT_OPEN, BUSY) else ERROR
    return ERROR


def worst(outcomes: list[str]) -> str:
    return max(outcomes, key=lambda o: SEVERITY.get(o, SEVERITY[ERROR]), default=OK)


@dataclass(slots=True)
class Call(Generic[T]):
    provider: str
    outcome: str
    value: T | None = None
    ms: float = 0.0
    error: str | None = field(default=None, repr=False)


class FanOutGate:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = asyncio.Semaphore(limit)
        self.in_flight = 0

    async def call(
        self,
        provider: str,
        fn: Callable[[float], Awaitable[T]],
        deadline: Deadline,
    ) -> Call[T]:
        """Run `fn(timeout)` in a gate slot before the deadline. Never raises for a
        provider's failure: the outcome says what happened."""
        started = time.perf_counter()
        acquired = False
        try:
            remaining = deadline.remaining()
            if remaining <= 0:
                raise TimeoutError
            try:
                async with asyncio.timeout(remaining):
                    await self._slots.acquire()
            except TimeoutError:
                return self._done(provider, BUSY, started, "no fan-out slot before the deadline")
            acquired = True
            self.in_flight += 1
            GATE_IN_FLIGHT.inc()
            # The provider gets the time left and is trusted to keep to it; the timeout
            # around it catches one that does not.
            remaining = deadline.remaining()
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):
                value = await fn(remaining)
        except Exception as exc:
            return self._done(provider, outcome_of(exc), started, f"{type(exc).__name__}: {exc}")
        finally:
            if acquired:
                self.in_flight -= 1
                GATE_IN_FLIGHT.dec()
                self._slots.release()
        call: Call[T] = self._done(provider, OK, started)
        call.value = value
        return call

    async def search(
        self,
        provider: SearchProvider,
        query: str,
        *,
        tenant_id: str,
        limit: int,
        deadline: Deadline,
    ) -> Call[list[SearchResult]]:
        """One provider query in a gate slot (`call` with the provider's own timeout)."""

        async def search(timeout: float) -> list[SearchResult]:
            return await provider.search(query, limit=limit, tenant_id=tenant_id, timeout=timeout)

        return await self.call(provider.name, search, deadline)

    @staticmethod
    def _done(provider: str, outcome: str, started: float, error: str | None = None) -> Call[T]:
        PROVIDER_CALLS.labels(provider, outcome).inc()
        if error is not None:
            log.warning("provider call failed", provider=provider, outcome=outcome, error=error)
        return Call(provider, outcome, None, (time.perf_counter() - started) * 1000, error)
