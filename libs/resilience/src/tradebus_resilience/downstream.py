"""One downstream dependency (an LLM, a search API, a database's writes) behind its
budget: a concurrency limit, timeouts, retries for idempotent calls with exponential
backoff and full jitter (Retry-After honoured, elapsed time capped), and a breaker.

Retries use tenacity; a waiting retry holds no concurrency slot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_random_exponential

from .breaker import CircuitBreaker, State
from .errors import (
    CircuitOpen,
    DownstreamBusy,
    DownstreamError,
    DownstreamHTTPError,
    DownstreamTimeout,
    DownstreamUnavailable,
)
from .metrics import BREAKER_STATE, CALL_SECONDS, CALLS, IN_FLIGHT, RETRIES
from .settings import DownstreamSettings

T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DownstreamHTTPError):
        return exc.transient
    return isinstance(exc, DownstreamTimeout | DownstreamUnavailable)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds or an HTTP date (RFC 9110 10.2.3); None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


class Downstream:
    def __init__(
        self,
        name: str,
        settings: DownstreamSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self.settings = settings
        self._clock = clock
        self._sleep = sleep  # injectable with the clock, so tests can run backoff in fake time
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._in_flight = 0
        self.breaker = CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold,
            reset_seconds=settings.breaker_reset_seconds,
            half_open_calls=settings.breaker_half_open_calls,
            clock=clock,
            on_change=lambda state: BREAKER_STATE.labels(name).set(int(state)),
        )
        BREAKER_STATE.labels(name).set(int(State.CLOSED))
        self._backoff = wait_random_exponential(
            multiplier=settings.backoff_base_seconds, max=settings.backoff_cap_seconds
        )

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def http_client(self, base_url: str = "", **kwargs: Any) -> httpx.AsyncClient:
        """An httpx client with this downstream's connect/read timeouts and a pool no
        larger than its concurrency budget."""
        s = self.settings
        timeout = httpx.Timeout(
            s.read_timeout_seconds, connect=s.connect_timeout_seconds, pool=s.total_timeout_seconds
        )
        limits = httpx.Limits(
            max_connections=s.concurrency, max_keepalive_connections=s.concurrency
        )
        return httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits, **kwargs)

    async def call(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        idempotent: bool = True,
        timeout: float | None = None,
    ) -> T:
        """Run `fn` (one attempt: typically one HTTP request that raises on a bad status)
        under the budget. `timeout` is the caller's remaining time; the call never
        outlives it. Raises a `DownstreamError` subclass."""
        budget = self.settings.total_timeout_seconds
        if timeout is not None:
            budget = min(budget, timeout)
        deadline = self._clock() + budget
        attempts = self.settings.max_attempts if idempotent else 1

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= attempts:
                return True
            # Don't start a wait the deadline would cut short.
            return self._clock() + (state.upcoming_sleep or 0.0) >= deadline

        retrying = AsyncRetrying(
            stop=stop,
            wait=self._wait,
            sleep=self._sleep,
            retry=retry_if_exception(is_transient),
            before_sleep=lambda _: RETRIES.labels(self.name).inc(),
            reraise=True,
        )
        try:
            result: T = await retrying(self._attempt, fn, deadline)
        except DownstreamError as exc:
            CALLS.labels(self.name, exc.reason).inc()
            raise
        CALLS.labels(self.name, "ok").inc()
        return result

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, DownstreamHTTPError) and exc.retry_after is not None:
            if exc.retry_after > self.settings.retry_after_cap_seconds:
                return float("inf")  # stop() turns this into "no more retries"
            return exc.retry_after
        return float(self._backoff(state))

    async def _attempt(self, fn: Callable[[], Awaitable[T]], deadline: float) -> T:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise DownstreamTimeout(self.name, "no time left for another attempt")
        if not self.breaker.try_acquire():
            raise CircuitOpen(self.name, f"circuit open, retry in {self.breaker.retry_in():.1f}s")
        acquired = False
        verdict: bool | None = None  # True success, False failure, None no verdict
        started = time.perf_counter()
        outcome = "error"
        try:
            try:
                async with asyncio.timeout(remaining):
                    await self._slots.acquire()
                    acquired = True
                    self._in_flight += 1
                    IN_FLIGHT.labels(self.name).inc()
                    started = time.perf_counter()
                    result = await fn()
            except TimeoutError:
                if not acquired:
                    outcome = "busy"
                    raise DownstreamBusy(
                        self.name, f"concurrency budget {self.settings.concurrency} full"
                    ) from None
                verdict, outcome = False, "timeout"
                raise DownstreamTimeout(self.name, f"no answer within {remaining:.2f}s") from None
            except httpx.TimeoutException as exc:
                verdict, outcome = False, "timeout"
                raise DownstreamTimeout(self.name, type(exc).__name__) from exc
            except httpx.TransportError as exc:
                verdict, outcome = False, "unavailable"
                raise DownstreamUnavailable(self.name, f"{type(exc).__name__}: {exc}") from exc
            except httpx.HTTPStatusError as exc:
                error = _http_error(self.name, exc.response)
                verdict, outcome = (not error.transient), error.reason
                raise error from exc
            except DownstreamHTTPError as error:
                verdict, outcome = (not error.transient), error.reason
                raise
            except DownstreamError as error:
                # `fn` judged the answer unusable (e.g. a malformed body): the downstream
                # answered wrongly, which counts against the breaker like a 5xx would.
                verdict, outcome = False, error.reason
                raise
            verdict, outcome = True, "ok"
            return result
        finally:
            if verdict is True:
                self.breaker.record_success()
            elif verdict is False:
                self.breaker.record_failure()
            else:
                self.breaker.release_probe()
            if acquired:
                self._slots.release()
                self._in_flight -= 1
                IN_FLIGHT.labels(self.name).dec()
                CALL_SECONDS.labels(self.name, outcome).observe(time.perf_counter() - started)


def _http_error(name: str, response: httpx.Response) -> DownstreamHTTPError:
    text = response.text[:300] if response.is_stream_consumed or response.is_closed else ""
    return DownstreamHTTPError(
        name,
        response.status_code,
        text or response.reason_phrase,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )
