"""hunt and assess over the real broker, the real MongoDB and three fault-server engines."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.shadowhunter.conftest import ENGINES, seed_document
from tests.support.fault_server import FaultServer
from tradebus_contracts import AssessReply, AssessRequest, HuntReply, HuntRequest
from tradebus_messaging.runner import readiness
from tradebus_shadowhunter.domain.text import name_key

pytestmark = pytest.mark.integration

HPS = "https://haiphongsteel.com.vn"
CORPORA = {
    "web1": [
        {"title": "Hai Phong Steel JSC - Official site", "url": f"{HPS}/",
         "content": "Importer of cold rolled steel coil in Vietnam."},
        {"title": "Saigon Coil Trading | Steel coil importer", "url": "https://saigoncoil.vn/",
         "content": "Steel coil importers based in Ho Chi Minh City, Vietnam."},
        {"title": "Bolt Metals GmbH", "url": "https://boltmetals.de/",
         "content": "Aluminium and steel profiles from Germany."},
    ],
    "web2": [
        {"title": "Hai Phong Steel Joint Stock Company", "url": f"{HPS}/about",
         "content": "Hai Phong Steel imports steel coil for Vietnam's builders."},
        {"title": "Saigon Coil Trading Co., Ltd", "url": "https://directory.example/saigon-coil",
         "content": "Steel coil importer in Vietnam."},
        {"title": "Mekong Steel Importers", "url": "https://mekongsteel.vn/",
         "content": "Cold rolled coil importer, Can Tho, Vietnam."},
    ],
    "web3": [
        {"title": "HaiPhong Steel JSC | LinkedIn",
         "url": "https://www.linkedin.com/company/haiphongsteel",
         "content": "Hai Phong Steel JSC: steel coil importer in Vietnam."},
        {"title": "Mekong Steel Importers - Home", "url": "https://www.mekongsteel.vn/",
         "content": "Steel coil importers."},
        {"title": "Hai Phong Steel JSC fined in customs fraud probe",
         "url": "https://tradenews.example/hps-fined",
         "content": "Authorities fined Hai Phong Steel JSC over misdeclared coil imports."},
    ],
}  # fmt: skip
HUNT = dict(query="steel coil importers", country="Vietnam", industry="steel", limit=10)


async def load(engines: FaultServer) -> None:
    for engine, results in CORPORA.items():
        await engines.load_corpus(results, engine=engine)


async def test_hunt_returns_deduped_ranked_leads_from_several_engines(
    start, engines, mongo
) -> None:
    await load(engines)
    service = await start()
    await seed_document(
        mongo[1],
        service.tenant,
        "doc-calls",
        "Call notes - Saigon Coil Trading",
        ["Saigon Coil Trading asked for a CIF quote on steel coil to Ho Chi Minh City."],
    )
    checks = await readiness(service.worker)
    assert checks["mongodb"] and checks["consumer:shadowhunter.hunt"]

    reply = await service.request(HuntRequest(tenant_id=service.tenant, **HUNT))
    assert isinstance(reply, HuntReply)
    assert reply.providers == {**dict.fromkeys(ENGINES, "ok"), "knowledge_base": "ok"}
    assert not reply.partial and reply.degraded == []
    names = [lead.name for lead in reply.leads]
    assert len({name_key(n) for n in names}) == len(names), names  # no duplicates
    by_name = {name_key(lead.name): lead for lead in reply.leads}
    hps, saigon = by_name["hai phong steel"], by_name["saigon coil trading"]
    assert hps.url == f"{HPS}/"
    assert {s.provider for s in hps.sources} == set(ENGINES)
    assert {s.provider for s in saigon.sources} == {"web1", "web2", "knowledge_base"}
    assert saigon.factors["knowledge_base"] == 1.0
    assert by_name["mekong steel importers"].url == "https://mekongsteel.vn/"
    scores = [lead.score for lead in reply.leads]
    assert scores == sorted(scores, reverse=True)
    assert names[-1] == "Bolt Metals GmbH"  # one engine, not in Vietnam: last
    assert {"search:web1", "search:knowledge_base", "rank", "total"} <= set(reply.latency_ms)


async def test_a_failing_and_a_hanging_engine_give_a_partial_reply_in_time(start, engines) -> None:
    await load(engines)
    await engines.set_faults(
        {"route": "search:web2", "status": 503}, {"route": "search:web3", "hang": True}
    )
    service = await start(deadline_reserve_ms=200)
    # A reply at all, rather than DeadlineExceeded, is the reply arriving within the deadline.
    reply = await service.request(HuntRequest(tenant_id=service.tenant, **HUNT), timeout=2.0)
    assert reply.partial
    assert reply.providers == {
        "web1": "ok",
        "web2": "error",
        "web3": "timeout",
        "knowledge_base": "ok",
    }
    assert set(reply.degraded) == {"search:web2:error", "search:web3:timeout"}
    assert {name_key(lead.name) for lead in reply.leads} >= {
        "hai phong steel",
        "saigon coil trading",
    }
    assert all({s.provider for s in lead.sources} <= {"web1"} for lead in reply.leads)
    stats = await engines.stats("search:web2")
    assert stats["statuses"] == {"503": stats["requests"]}  # retried under its budget
    # The hung call was abandoned, not leaked: its connection closed at the deadline.
    assert (await engines.until_idle("search:web3"))["statuses"] == {"499": 1}


async def test_the_fan_out_gate_holds_across_concurrent_hunts(start, engines) -> None:
    limit = 3
    await load(engines)
    for engine in ENGINES:
        await engines.set_faults(route=f"search:{engine}", latency_ms=30)
    service = await start(fanout_limit=limit, knowledge_base_provider=False)
    requests = [HuntRequest(tenant_id=service.tenant, **HUNT) for _ in range(20)]
    replies = await asyncio.gather(*(service.request(r, timeout=30) for r in requests))
    assert all(not r.partial and r.leads for r in replies)
    stats = {e: await engines.stats(f"search:{e}") for e in ENGINES}
    assert all(s["requests"] == 20 for s in stats.values()), stats
    assert sum(s["max_in_flight"] for s in stats.values()) <= limit, stats


async def test_assess_scores_evidence_from_search_and_the_knowledge_base(
    start, engines, mongo
) -> None:
    await load(engines)
    service = await start()
    await seed_document(
        mongo[1],
        service.tenant,
        "doc-contract",
        "Contract HPS-2024-07",
        [
            "Sales contract between Acme Export and Hai Phong Steel JSC for 2,000 t of "
            "cold rolled coil, CIF Hai Phong, payment by letter of credit.",
            "Delivery schedule: three shipments from August.",
        ],
    )
    request = AssessRequest(
        tenant_id=service.tenant,
        counterparty="Hai Phong Steel JSC",
        country="Vietnam",
        website="haiphongsteel.com.vn",
    )
    reply = await service.request(request)
    assert isinstance(reply, AssessReply)
    assert reply.score == pytest.approx(sum(f.contribution for f in reply.factors), abs=0.01)
    factors = {f.name: f for f in reply.factors}
    assert set(factors) == {
        "identity",
        "web_presence",
        "corroboration",
        "relationship_history",
        "adverse_media",
    }
    assert sum(f.weight for f in reply.factors) == pytest.approx(1.0)
    assert factors["web_presence"].value == 1.0
    assert factors["relationship_history"].value > 0
    assert "Contract HPS-2024-07" in factors["relationship_history"].explanation
    assert factors["adverse_media"].value < 1.0  # the customs fraud story
    assert "tradenews.example" in factors["adverse_media"].explanation
    sources = {e.source for e in reply.evidence}
    assert sources == {"search", "knowledge_base"}
    assert "doc-contract" in {e.document_id for e in reply.evidence}
    assert reply.rationale and not reply.degraded and not reply.partial
    assert (await engines.stats("chat"))["requests"] == 1
    queries = (await engines.stats("search:web1"))["requests"]
    assert queries == 2  # who it is, and whether it is in trouble


async def test_a_failing_llm_skips_the_rationale(start, engines, mongo) -> None:
    await load(engines)
    await engines.set_faults(route="chat", status=500)
    service = await start()
    request = AssessRequest(tenant_id=service.tenant, counterparty="Hai Phong Steel JSC")
    reply = await service.request(request)
    assert reply.rationale is None
    assert reply.degraded == ["llm:rationale_skipped"] and not reply.partial
    assert reply.score == pytest.approx(sum(f.contribution for f in reply.factors), abs=0.01)
    assert (await engines.stats("chat"))["requests"] >= 1


async def test_without_an_llm_the_rationale_comes_from_the_rubric(start, engines) -> None:
    await load(engines)
    service = await start(llm=False)
    request = AssessRequest(tenant_id=service.tenant, counterparty="Hai Phong Steel JSC")
    reply = await service.request(request)
    assert reply.rationale is not None and reply.degraded == []
    assert all(f.explanation in reply.rationale for f in reply.factors)
    assert "chat" not in await engines.stats()
