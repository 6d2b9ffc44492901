"""Offline hunting and assessment (no web search, as `make run` ships) over the account
notes of samples/documents/steel-buyers-southeast-asia.md, seeded the way omnirag-ingest
chunks it: the organisations the notes describe come back as leads, and what the notes
say about one counts in its assessment."""

from __future__ import annotations

import pytest

from tests.integration.shadowhunter.conftest import SAMPLES, seed_sample
from tradebus_contracts import AssessReply, AssessRequest, HuntReply, HuntRequest
from tradebus_shadowhunter.domain.text import name_key

pytestmark = pytest.mark.integration

SAMPLE = "steel-buyers-southeast-asia.md"
VIETNAM = {
    "saigon coil trading": "saigoncoil",
    "hai phong steel": "haiphongsteel",
    "mekong metals import export": "mekongmetals",
}


async def test_offline_hunt_returns_the_organisations_the_notes_describe(start, mongo) -> None:
    service = await start(web=False, llm=False)
    # Every readable sample, as `make run` ingests them: the guides and policies name no
    # organisation, and must not outrank the ones that do.
    for path in sorted(SAMPLES.iterdir()):
        if path.name != "corrupt.pdf":
            await seed_sample(mongo[1], service.tenant, path.name)

    reply = await service.request(
        HuntRequest(
            tenant_id=service.tenant, query="steel coil importers", country="Vietnam", limit=10
        )
    )
    assert isinstance(reply, HuntReply)
    assert reply.providers == {"knowledge_base": "ok"} and not reply.partial
    keys = [name_key(lead.name) for lead in reply.leads]
    assert "steel buyers southeast asia" not in keys  # organisations, not the document
    rank = {key: n for n, key in enumerate(keys)}
    vietnamese = [rank[key] for key in VIETNAM]
    foreign = [rank["bangkok flat steel"], rank["jakarta coil distributors"]]
    assert max(vietnamese) < min(foreign), keys
    assert set(vietnamese) == {0, 1, 2}
    by_key = {name_key(lead.name): lead for lead in reply.leads}
    for key, label in VIETNAM.items():
        lead = by_key[key]
        assert lead.url == f"https://{label}.example"
        assert lead.factors["fit"] == 1.0 and lead.factors["knowledge_base"] == 1.0
    assert by_key["bangkok flat steel"].factors["fit"] == 0.0
    hps = by_key["hai phong steel"]
    assert hps.name == "Hai Phong Steel JSC"
    assert all(s.provider == "knowledge_base" for s in hps.sources)
    assert any("northern Vietnam" in (s.snippet or "") for s in hps.sources)
    assert by_key["saigon coil trading"].name == "Saigon Coil Trading Co., Ltd."
    assert by_key["jakarta coil distributors"].name == "PT Jakarta Coil Distributors"


async def test_offline_assess_counts_what_the_notes_say_about_the_counterparty(
    start, mongo
) -> None:
    service = await start(web=False, llm=False)
    document = await seed_sample(mongo[1], service.tenant, SAMPLE)

    reply = await service.request(
        AssessRequest(
            tenant_id=service.tenant, counterparty="Hai Phong Steel JSC", country="Vietnam"
        )
    )
    assert isinstance(reply, AssessReply)
    assert not reply.partial and reply.degraded == []
    factors = {f.name: f for f in reply.factors}
    media = factors["adverse_media"]
    assert media.value < 1.0
    assert "dispute" in media.explanation and "customs valuation" in media.explanation
    assert "enhanced due diligence" in media.explanation
    assert factors["relationship_history"].value > 0
    assert "steel buyers southeast asia" in factors["relationship_history"].explanation
    presence = factors["web_presence"]
    assert presence.value > 0
    assert "haiphongsteel.example" in presence.explanation
    assert "tenant's documents" in presence.explanation
    evidence = [e for e in reply.evidence if e.document_id == document]
    assert evidence and all(e.source == "knowledge_base" for e in evidence)
    assert any("under-declared invoices" in e.snippet for e in evidence)
    assert reply.rationale and media.explanation in reply.rationale

    # The neighbour in the same chunk is not tarred with Hai Phong Steel's dispute.
    saigon = await service.request(
        AssessRequest(tenant_id=service.tenant, counterparty="Saigon Coil Trading")
    )
    clean = {f.name: f for f in saigon.factors}
    assert clean["adverse_media"].value == 1.0
    assert clean["relationship_history"].value > 0
    assert "saigoncoil.example" in clean["web_presence"].explanation
