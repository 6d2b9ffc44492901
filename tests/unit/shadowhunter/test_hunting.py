"""The hunt flow with fake providers: partial results when a provider fails, the
deadline ending a hanging call, and the process-wide fan-out gate."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.shadowhunter.fakes import (
    Concurrency,
    FakeIndex,
    FakeSearch,
    HangingSearch,
    SlowSearch,
    result,
)
from tradebus_contracts import HuntRequest
from tradebus_resilience import CircuitOpen, Downstream, DownstreamHTTPError, DownstreamSettings
from tradebus_retrieval import RetrievedChunk
from tradebus_shadowhunter.adapters import KnowledgeBaseSearch
from tradebus_shadowhunter.domain.leads import LeadPolicy
from tradebus_shadowhunter.fanout import Deadline, FanOutGate
from tradebus_shadowhunter.hunting import Hunter

POLICY = LeadPolicy(
    weights={"relevance": 0.4, "corroboration": 0.25, "fit": 0.2, "knowledge_base": 0.15}
)
REQUEST = HuntRequest(tenant_id="t1", query="steel coil importers", country="Vietnam", limit=5)
HPS = result("x", "Hai Phong Steel JSC", "https://haiphongsteel.com.vn", "steel coil importer")
BOLT = result("x", "Bolt Metals", "https://boltmetals.de", "aluminium")


def hunter(*providers, limit: int = 8) -> Hunter:
    return Hunter(providers=providers, gate=FanOutGate(limit), policy=POLICY, result_limit=10)


def deadline(seconds: float = 5.0) -> Deadline:
    return Deadline.of(None, default_seconds=seconds, reserve_seconds=0.0)


async def test_leads_from_several_providers_are_deduped_and_ranked() -> None:
    web1, web2 = FakeSearch("web1", [HPS, BOLT]), FakeSearch("web2", [HPS])
    reply = await hunter(web1, web2).hunt(REQUEST, deadline())
    assert [lead.name for lead in reply.leads] == ["Hai Phong Steel JSC", "Bolt Metals"]
    assert {s.provider for s in reply.leads[0].sources} == {"web1", "web2"}
    assert reply.leads[0].factors["corroboration"] == 1.0
    assert reply.providers == {"web1": "ok", "web2": "ok"} and not reply.partial
    assert web1.queries == ["steel coil importers Vietnam"]
    assert {"search:web1", "search:web2", "search", "rank", "total"} <= set(reply.latency_ms)


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (DownstreamHTTPError("search_web2", 503, "unavailable"), "error"),
        (CircuitOpen("search_web2", "circuit open"), "circuit_open"),
        (ValueError("a bug in a provider"), "error"),
    ],
)
async def test_a_failing_provider_makes_the_reply_partial(error: Exception, outcome: str) -> None:
    reply = await hunter(FakeSearch("web1", [HPS]), FakeSearch("web2", error=error)).hunt(
        REQUEST, deadline()
    )
    assert reply.partial
    assert reply.providers == {"web1": "ok", "web2": outcome}
    assert reply.degraded == [f"search:web2:{outcome}"]
    assert [lead.name for lead in reply.leads] == ["Hai Phong Steel JSC"]


async def test_a_hanging_provider_is_cut_off_at_the_deadline() -> None:
    hanging = HangingSearch("web2")
    reply = await hunter(FakeSearch("web1", [HPS]), hanging).hunt(REQUEST, deadline(0.2))
    assert hanging.started == 1
    assert reply.partial and reply.providers == {"web1": "ok", "web2": "timeout"}
    assert [lead.name for lead in reply.leads] == ["Hai Phong Steel JSC"]


async def test_providers_get_the_remaining_time_minus_the_reserve() -> None:
    web1 = FakeSearch("web1", [HPS])
    await hunter(web1).hunt(REQUEST, Deadline.of(None, default_seconds=5, reserve_seconds=1))
    (timeout,) = web1.timeouts
    assert timeout is not None and 3.0 < timeout <= 4.0


async def test_no_time_left_asks_no_provider() -> None:
    web1 = FakeSearch("web1", [HPS])
    reply = await hunter(web1).hunt(
        REQUEST, Deadline.of(None, default_seconds=0.1, reserve_seconds=0.5)
    )
    assert web1.queries == [] and reply.providers == {"web1": "timeout"} and reply.leads == []


async def test_the_fan_out_gate_holds_across_concurrent_hunts() -> None:
    counter = Concurrency()
    providers = [SlowSearch(f"p{i}", counter) for i in range(4)]
    gate = FanOutGate(3)
    shared = Hunter(providers=providers, gate=gate, policy=POLICY, result_limit=10)
    replies = await asyncio.gather(*(shared.hunt(REQUEST, deadline()) for _ in range(20)))
    assert counter.calls == 80
    assert counter.max == 3  # reached, never exceeded
    assert gate.in_flight == 0
    assert all(not r.partial and len(r.providers) == 4 for r in replies)


async def test_a_call_that_cannot_get_a_gate_slot_in_time_is_busy() -> None:
    gate = FanOutGate(1)
    hanging = HangingSearch("slow")
    holder = asyncio.create_task(
        Hunter(providers=[hanging], gate=gate, policy=POLICY, result_limit=10).hunt(
            REQUEST, deadline(5)
        )
    )
    while hanging.started == 0:
        await asyncio.sleep(0)
    waiting = FakeSearch("web1", [HPS])
    reply = await Hunter(providers=[waiting], gate=gate, policy=POLICY, result_limit=10).hunt(
        REQUEST, deadline(0.1)
    )
    assert reply.providers == {"web1": "busy"} and waiting.queries == []
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    assert gate.in_flight == 0


async def test_offline_hunting_runs_on_the_tenants_documents() -> None:
    index = FakeIndex(
        "t1",
        [
            RetrievedChunk(
                "d1:0",
                "d1",
                "Delta Imports - account notes",
                "Delta Imports buys cold rolled steel coil for Vietnam plants.",
                0.6,
            ),
            RetrievedChunk("d2:0", "d2", "Incoterms notes", "FOB and CIF explained.", 0.01),
        ],
    )
    kb = KnowledgeBaseSearch(index, Downstream("kb-test", DownstreamSettings()))
    reply = await hunter(kb).hunt(REQUEST, deadline())
    assert reply.providers == {"knowledge_base": "ok"}
    assert [lead.name for lead in reply.leads] == ["Delta Imports"]  # the weak match dropped
    assert reply.leads[0].factors["knowledge_base"] == 1.0
    assert index.queries == ["steel coil importers Vietnam"]


async def test_the_other_tenants_documents_are_never_searched() -> None:
    index = FakeIndex("t2", [RetrievedChunk("d1:0", "d1", "Secret Co", "steel coil", 0.9)])
    kb = KnowledgeBaseSearch(index, Downstream("kb-test", DownstreamSettings()))
    reply = await hunter(kb).hunt(REQUEST, deadline())
    assert reply.leads == []
