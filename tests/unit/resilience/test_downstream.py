"""Downstream budgets against httpx.MockTransport. Backoff runs in fake time: the
Downstream's clock and sleep are injected, so waits are recorded, not slept."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from tradebus_resilience import (
    CircuitOpen,
    Downstream,
    DownstreamBusy,
    DownstreamError,
    DownstreamHTTPError,
    DownstreamSettings,
    DownstreamTimeout,
    DownstreamUnavailable,
    State,
    parse_retry_after,
)

Step = int | tuple[int, dict[str, str]] | type[httpx.TransportError]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Upstream:
    """Answers with the scripted steps in order; the last one repeats."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if isinstance(step, type):
            raise step("injected", request=request)
        status, headers = step if isinstance(step, tuple) else (step, {})
        return httpx.Response(status, headers=headers, json={"n": self.calls})


def budget(**overrides: Any) -> DownstreamSettings:
    values: dict[str, Any] = {
        "concurrency": 2,
        "max_attempts": 3,
        "backoff_base_seconds": 0.1,
        "backoff_cap_seconds": 1.0,
        "retry_after_cap_seconds": 10.0,
        "breaker_failure_threshold": 50,
        "breaker_reset_seconds": 30.0,
        "total_timeout_seconds": 60.0,
    }
    return DownstreamSettings.model_validate({**values, **overrides})


def guarded(
    name: str,
    upstream: Callable[[httpx.Request], Any],
    fake: FakeTime | None = None,
    **settings: Any,
) -> tuple[Downstream, Callable[[], Any]]:
    kwargs = {"clock": fake.clock, "sleep": fake.sleep} if fake else {}
    downstream = Downstream(name, budget(**settings), **kwargs)
    client = downstream.http_client("http://upstream", transport=httpx.MockTransport(upstream))

    async def fetch() -> Any:
        response = await client.get("/thing")
        response.raise_for_status()
        return response.json()

    return downstream, fetch


def sample(metric: str, name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(metric, {"downstream": name, **labels}) or 0.0


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_transient_statuses_are_retried(status: int, fake: FakeTime, unique: str) -> None:
    upstream = Upstream(status, status, 200)
    downstream, fetch = guarded(f"t-{unique}", upstream, fake)
    assert await downstream.call(fetch) == {"n": 3}
    assert upstream.calls == 3 and len(fake.sleeps) == 2
    assert sample("tradebus_downstream_retries_total", downstream.name) == 2
    assert sample("tradebus_downstream_calls_total", downstream.name, outcome="ok") == 1
    assert sample("tradebus_downstream_seconds_count", downstream.name, outcome="ok") == 1
    failed = "rate_limited" if status == 429 else f"http_{status}"
    assert sample("tradebus_downstream_seconds_count", downstream.name, outcome=failed) == 2


async def test_retries_stop_at_max_attempts(fake: FakeTime, unique: str) -> None:
    upstream = Upstream(503)
    downstream, fetch = guarded(f"t-{unique}", upstream, fake, max_attempts=4)
    with pytest.raises(DownstreamHTTPError) as info:
        await downstream.call(fetch)
    assert info.value.status == 503 and info.value.transient
    assert upstream.calls == 4 and len(fake.sleeps) == 3
    assert sample("tradebus_downstream_calls_total", downstream.name, outcome="http_503") == 1


async def test_timeouts_and_transport_errors_are_retried(fake: FakeTime, unique: str) -> None:
    upstream = Upstream(httpx.ReadTimeout, httpx.ConnectError, 200)
    downstream, fetch = guarded(f"t-{unique}", upstream, fake)
    assert await downstream.call(fetch) == {"n": 3}


@pytest.mark.parametrize(
    ("error", "raised"),
    [(httpx.ReadTimeout, DownstreamTimeout), (httpx.ConnectError, DownstreamUnavailable)],
)
async def test_transport_failures_map_to_their_reason(
    error: type[httpx.TransportError], raised: type[DownstreamError], fake: FakeTime, unique: str
) -> None:
    upstream = Upstream(error)
    downstream, fetch = guarded(f"t-{unique}", upstream, fake)
    with pytest.raises(raised):
        await downstream.call(fetch)
    assert upstream.calls == 3
    assert sample("tradebus_downstream_calls_total", downstream.name, outcome=raised.reason) == 1


async def test_backoff_is_full_jitter_under_an_exponential_cap(fake: FakeTime, unique: str) -> None:
    settings = {"max_attempts": 7, "backoff_base_seconds": 0.1, "backoff_cap_seconds": 0.5}
    bounds = [0.1, 0.2, 0.4, 0.5, 0.5, 0.5]
    for _ in range(20):
        fake.sleeps.clear()
        downstream, fetch = guarded(f"t-{unique}", Upstream(503), fake, **settings)
        with pytest.raises(DownstreamHTTPError):
            await downstream.call(fetch)
        assert len(fake.sleeps) == 6
        assert all(0 <= s <= b for s, b in zip(fake.sleeps, bounds, strict=True)), fake.sleeps
    assert len(set(fake.sleeps)) > 1  # jittered, not a fixed schedule


@pytest.mark.parametrize(("pick", "expected"), [(max, [0.1, 0.2, 0.4, 0.5]), (min, [0.0] * 4)])
async def test_backoff_window_edges(
    pick: Callable[[float, float], float],
    expected: list[float],
    fake: FakeTime,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The jitter draws from [0, min(cap, base * 2^n)]; pin the draw to each edge."""
    monkeypatch.setattr(random, "uniform", lambda a, b: pick(a, b))
    downstream, fetch = guarded(
        f"t-{unique}", Upstream(503), fake, max_attempts=5, backoff_cap_seconds=0.5
    )
    with pytest.raises(DownstreamHTTPError):
        await downstream.call(fetch)
    assert fake.sleeps == pytest.approx(expected)


async def test_retry_after_seconds_replace_the_backoff(fake: FakeTime, unique: str) -> None:
    upstream = Upstream((429, {"Retry-After": "3"}), (503, {"Retry-After": "1.5"}), 200)
    downstream, fetch = guarded(f"t-{unique}", upstream, fake)
    assert await downstream.call(fetch) == {"n": 3}
    assert fake.sleeps == [3.0, 1.5]


async def test_retry_after_as_an_http_date(fake: FakeTime, unique: str) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=6), usegmt=True)
    upstream = Upstream((503, {"Retry-After": when}), 200)
    downstream, fetch = guarded(f"t-{unique}", upstream, fake)
    assert await downstream.call(fetch) == {"n": 2}
    # The date has whole seconds, so it is 5 to 6 seconds away.
    assert len(fake.sleeps) == 1 and 4.5 < fake.sleeps[0] <= 6.0


def test_parse_retry_after() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now=now.timestamp()) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now=0) > 0
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=now.timestamp()) == 0.0
    assert parse_retry_after(" 7 ") == 7.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


async def test_a_retry_after_longer_than_the_cap_ends_the_retries(
    fake: FakeTime, unique: str
) -> None:
    upstream = Upstream((429, {"Retry-After": "120"}), 200)
    downstream, fetch = guarded(f"t-{unique}", upstream, fake, retry_after_cap_seconds=10)
    with pytest.raises(DownstreamHTTPError) as info:
        await downstream.call(fetch)
    assert upstream.calls == 1 and fake.sleeps == []
    assert info.value.retry_after == 120.0  # the caller can pass it on to its own client


async def test_a_retry_after_past_the_callers_deadline_ends_the_retries(
    fake: FakeTime, unique: str
) -> None:
    upstream = Upstream((503, {"Retry-After": "5"}), 200)
    downstream, fetch = guarded(f"t-{unique}", upstream, fake)
    with pytest.raises(DownstreamHTTPError):
        await downstream.call(fetch, timeout=2.0)
    assert upstream.calls == 1 and fake.sleeps == []


async def test_non_idempotent_calls_are_tried_once(fake: FakeTime, unique: str) -> None:
    upstream = Upstream(503, 200)
    downstream, fetch = guarded(f"t-{unique}", upstream, fake)
    with pytest.raises(DownstreamHTTPError):
        await downstream.call(fetch, idempotent=False)
    assert upstream.calls == 1 and fake.sleeps == []


@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_client_errors_are_neither_retried_nor_breaker_failures(
    status: int, fake: FakeTime, unique: str
) -> None:
    upstream = Upstream(status)
    downstream, fetch = guarded(f"t-{unique}", upstream, fake, breaker_failure_threshold=2)
    for _ in range(5):
        with pytest.raises(DownstreamHTTPError) as info:
            await downstream.call(fetch)
        assert not info.value.transient
    assert upstream.calls == 5 and fake.sleeps == []
    assert downstream.breaker.state is State.CLOSED


async def test_waits_never_outlast_the_callers_timeout(fake: FakeTime, unique: str) -> None:
    upstream = Upstream(503)
    downstream, fetch = guarded(
        f"t-{unique}",
        upstream,
        fake,
        max_attempts=50,
        backoff_base_seconds=0.5,
        backoff_cap_seconds=2.0,
    )
    with pytest.raises(DownstreamHTTPError):
        await downstream.call(fetch, timeout=5.0)
    assert fake.now <= 5.0 and sum(fake.sleeps) <= 5.0
    assert upstream.calls == len(fake.sleeps) + 1 < 50


async def test_the_total_budget_caps_a_generous_caller(fake: FakeTime, unique: str) -> None:
    upstream = Upstream(503)
    downstream, fetch = guarded(
        f"t-{unique}", upstream, fake, max_attempts=50, total_timeout_seconds=3.0
    )
    with pytest.raises(DownstreamHTTPError):
        await downstream.call(fetch, timeout=100.0)
    assert fake.now <= 3.0


async def test_a_hung_attempt_is_cancelled_at_the_callers_timeout(unique: str) -> None:
    cancelled = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("unreachable")

    downstream, fetch = guarded(f"t-{unique}", hang, max_attempts=1)
    with pytest.raises(DownstreamTimeout):
        await downstream.call(fetch, timeout=0.05)
    assert cancelled.is_set()
    assert downstream.in_flight == 0
    assert sample("tradebus_downstream_in_flight", downstream.name) == 0
    assert sample("tradebus_downstream_calls_total", downstream.name, outcome="timeout") == 1


async def test_busy_when_the_concurrency_budget_stays_full(unique: str) -> None:
    release = asyncio.Event()
    entered: list[int] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        entered.append(1)
        await release.wait()
        return httpx.Response(200, json={"ok": True})

    downstream, fetch = guarded(f"t-{unique}", slow, concurrency=1)
    first = asyncio.create_task(downstream.call(fetch))
    while not entered:
        await asyncio.sleep(0)
    assert downstream.in_flight == 1
    assert sample("tradebus_downstream_in_flight", downstream.name) == 1
    with pytest.raises(DownstreamBusy):
        await downstream.call(fetch, timeout=0.05)
    assert len(entered) == 1  # the refused call never reached the upstream
    release.set()
    assert await first == {"ok": True}
    assert downstream.in_flight == 0
    assert sample("tradebus_downstream_calls_total", downstream.name, outcome="busy") == 1
    assert downstream.breaker.state is State.CLOSED  # busy is ours, not the upstream's fault


async def test_an_open_circuit_fails_fast_then_a_probe_closes_it(
    fake: FakeTime, unique: str
) -> None:
    upstream = Upstream(503, 503, 200)
    downstream, fetch = guarded(
        f"t-{unique}",
        upstream,
        fake,
        max_attempts=1,
        breaker_failure_threshold=2,
        breaker_reset_seconds=10,
    )
    for _ in range(2):
        with pytest.raises(DownstreamHTTPError):
            await downstream.call(fetch)
    assert downstream.breaker.state is State.OPEN
    assert sample("tradebus_breaker_state", downstream.name) == int(State.OPEN)
    with pytest.raises(CircuitOpen):
        await downstream.call(fetch)
    assert upstream.calls == 2
    assert sample("tradebus_downstream_calls_total", downstream.name, outcome="circuit_open") == 1
    fake.now += 10
    assert await downstream.call(fetch) == {"n": 3}
    assert downstream.breaker.state is State.CLOSED
    assert sample("tradebus_breaker_state", downstream.name) == int(State.CLOSED)


async def test_circuit_open_is_not_retried(fake: FakeTime, unique: str) -> None:
    upstream = Upstream(503)
    downstream, fetch = guarded(f"t-{unique}", upstream, fake, breaker_failure_threshold=2)
    with pytest.raises(CircuitOpen):
        await downstream.call(fetch)  # two failures open it; the third attempt is refused
    assert upstream.calls == 2 and len(fake.sleeps) == 2


class Garbled(DownstreamError):
    reason = "malformed"


async def test_an_unusable_answer_counts_against_the_breaker_without_retry(
    fake: FakeTime, unique: str
) -> None:
    upstream = Upstream(200)
    downstream, fetch = guarded(f"t-{unique}", upstream, fake, breaker_failure_threshold=2)

    async def parse() -> None:
        await fetch()
        raise Garbled(downstream.name, "not the API's shape")

    for _ in range(2):
        with pytest.raises(Garbled):
            await downstream.call(parse)
    assert upstream.calls == 2 and fake.sleeps == []
    assert downstream.breaker.state is State.OPEN
    assert sample("tradebus_downstream_calls_total", downstream.name, outcome="malformed") == 2


def test_settings_load_environment_over_service_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBUS_WIDGETS_API_CONCURRENCY", "3")
    monkeypatch.setenv("TRADEBUS_WIDGETS_API_PROVIDER", "ignored: not a budget field")
    loaded = DownstreamSettings.load("widgets-api", concurrency=5, max_attempts=4)
    assert loaded.concurrency == 3 and loaded.max_attempts == 4
    assert (
        loaded.read_timeout_seconds
        == DownstreamSettings.model_fields["read_timeout_seconds"].default
    )
