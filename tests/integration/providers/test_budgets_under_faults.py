"""The providers' budgets hold against a misbehaving API: slow, rate-limited, hung,
crowded. The fault server counts what actually reached it."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.fault_server import CLIENT_CLOSED, FaultServer
from tradebus_providers import ChatMessage, HttpSearchProvider, OpenAIChat
from tradebus_resilience import CircuitOpen, DownstreamHTTPError, DownstreamTimeout, State

pytestmark = pytest.mark.integration

QUESTION = [ChatMessage("system", "[1] FCA means Free Carrier."), ChatMessage("user", "FCA?")]


def chat(server: FaultServer, downstream) -> OpenAIChat:
    return OpenAIChat(downstream, base_url=server.url, api_key="sk-test", model="fake-1")


async def test_a_slow_llm_times_out_at_the_callers_deadline(
    fault_server: FaultServer, make_downstream
) -> None:
    await fault_server.set_faults(route="chat", latency_ms=30_000)
    model = chat(fault_server, make_downstream("llm"))
    with pytest.raises(DownstreamTimeout):
        await model.complete(QUESTION, timeout=0.3)
    # The client hung up before the server's answer was due: the server logged 499, not
    # 200, and no retry was started because none could finish inside the deadline.
    stats = await fault_server.until_idle("chat")
    assert stats["requests"] == 1 and stats["statuses"] == {str(CLIENT_CLOSED): 1}
    assert model.downstream.in_flight == 0
    await model.aclose()


async def test_a_rate_limit_storm_retries_then_opens_then_recovers(
    fault_server: FaultServer, make_downstream
) -> None:
    downstream = make_downstream(
        "llm", max_attempts=3, breaker_failure_threshold=5, breaker_reset_seconds=0.5
    )
    model = chat(fault_server, downstream)
    await fault_server.set_faults(route="chat", status=429, retry_after=0.05)

    with pytest.raises(DownstreamHTTPError) as info:
        await model.complete(QUESTION, timeout=5)
    assert info.value.status == 429 and info.value.retry_after == 0.05
    assert (await fault_server.stats("chat"))["statuses"] == {"429": 3}  # retried twice

    with pytest.raises(CircuitOpen):  # attempts 4 and 5 trip it; the 3rd attempt never leaves
        await model.complete(QUESTION, timeout=5)
    assert (await fault_server.stats("chat"))["requests"] == 5
    assert downstream.breaker.state is State.OPEN

    with pytest.raises(CircuitOpen):
        await model.complete(QUESTION, timeout=5)
    assert (await fault_server.stats("chat"))["requests"] == 5  # failed fast, nothing sent

    await fault_server.set_faults(route="chat")  # the storm ends
    await asyncio.sleep(downstream.settings.breaker_reset_seconds)
    assert downstream.breaker.state is State.HALF_OPEN
    assert await model.complete(QUESTION, timeout=5) == "FCA means Free Carrier. [1]"
    assert downstream.breaker.state is State.CLOSED
    stats = await fault_server.stats("chat")
    assert stats["requests"] == 6 and stats["statuses"] == {"200": 1, "429": 5}
    await model.aclose()


async def test_fail_first_then_recover_within_one_call(
    fault_server: FaultServer, make_downstream
) -> None:
    await fault_server.set_faults(route="chat", status=503, fail_first=2)
    model = chat(fault_server, make_downstream("llm", max_attempts=3))
    assert await model.complete(QUESTION, timeout=5) == "FCA means Free Carrier. [1]"
    stats = await fault_server.stats("chat")
    assert stats["statuses"] == {"200": 1, "503": 2}
    await model.aclose()


async def test_the_concurrency_budget_holds_under_40_callers(
    fault_server: FaultServer, make_downstream
) -> None:
    await fault_server.set_faults(route="search:acme", latency_ms=50)
    downstream = make_downstream("search", concurrency=4)
    provider = HttpSearchProvider("acme", downstream, base_url=f"{fault_server.url}/engines/acme")
    results = await asyncio.gather(
        *(provider.search(f"pumps {i}", limit=3, tenant_id="t", timeout=10) for i in range(40))
    )
    assert all(len(r) == 3 for r in results)
    stats = await fault_server.stats("search:acme")
    assert stats["requests"] == 40 and stats["statuses"] == {"200": 40}
    assert 1 <= stats["max_in_flight"] <= downstream.settings.concurrency
    assert downstream.in_flight == 0
    await provider.aclose()


async def test_a_hang_times_out_and_nothing_stays_in_flight(
    fault_server: FaultServer, make_downstream
) -> None:
    await fault_server.set_faults(route="search", hang=True)
    provider = HttpSearchProvider("web", make_downstream("search"), base_url=fault_server.url)
    calls = [provider.search("valves", limit=3, tenant_id="t", timeout=0.3) for _ in range(3)]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(o, DownstreamTimeout) for o in outcomes), outcomes
    stats = await fault_server.until_idle("search")
    assert stats["requests"] == 3 and stats["max_in_flight"] == 3
    assert stats["statuses"] == {str(CLIENT_CLOSED): 3}
    await provider.aclose()
