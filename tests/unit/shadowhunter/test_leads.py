"""Deduping search results into leads, the lead score's factors, and the ranking."""

from __future__ import annotations

import pytest

from tests.unit.shadowhunter.fakes import result
from tradebus_shadowhunter.domain.leads import (
    LeadPolicy,
    candidate,
    dedupe,
    hunt_query,
    score_leads,
    weighted,
)

WEIGHTS = {"relevance": 0.4, "corroboration": 0.25, "fit": 0.2, "knowledge_base": 0.15}
POLICY = LeadPolicy(
    weights=WEIGHTS, name_similarity=0.9, shared_domains=frozenset({"linkedin.com"})
)


def groups(*results):
    found = dedupe([candidate(r, POLICY.shared_domains) for r in results], POLICY.name_similarity)
    return [[c.result.title for c in g] for g in found]


def test_results_on_one_registrable_domain_are_one_lead() -> None:
    assert groups(
        result("web1", "Hai Phong Steel JSC", "https://haiphongsteel.com.vn/"),
        result("web2", "Products | HPS", "https://shop.haiphongsteel.com.vn/coil"),
        result("web1", "Acme Trading", "https://acme.com"),
    ) == [["Hai Phong Steel JSC", "Products | HPS"], ["Acme Trading"]]


def test_near_identical_names_are_one_lead_across_domains() -> None:
    assert groups(
        result("web1", "Hai Phong Steel JSC", "https://haiphongsteel.com.vn"),
        result("web2", "HaiPhong Steel Co., Ltd", "https://steel-directory.example/hps"),
        result("kb", "Hải Phòng Steel - supplier profile"),
        result("web2", "Hai Phong Shipping", "https://hpshipping.vn"),
    ) == [
        ["Hai Phong Steel JSC", "HaiPhong Steel Co., Ltd", "Hải Phòng Steel - supplier profile"],
        ["Hai Phong Shipping"],
    ]


def test_a_directory_domain_does_not_merge_the_organisations_it_lists() -> None:
    assert groups(
        result("web1", "Acme Trading | LinkedIn", "https://www.linkedin.com/company/acme"),
        result("web1", "Bolt Metals | LinkedIn", "https://www.linkedin.com/company/bolt"),
    ) == [["Acme Trading | LinkedIn"], ["Bolt Metals | LinkedIn"]]


def test_the_provider_query_adds_industry_and_country_words_not_already_there() -> None:
    assert hunt_query("steel coil importers", "Vietnam", "steel") == "steel coil importers Vietnam"
    assert hunt_query("coil importers", None, "steel") == "coil importers steel"
    assert hunt_query("coil importers", None, None) == "coil importers"


def test_factors_are_transparent_and_the_score_is_their_weighted_sum() -> None:
    leads = score_leads(
        [
            result(
                "web1",
                "Hai Phong Steel",
                "https://haiphongsteel.com.vn",
                "Importer of cold rolled steel coil in Vietnam",
            ),
            result(
                "web2",
                "Hai Phong Steel JSC",
                "https://haiphongsteel.com.vn/about",
                "Steel coil importer, Hai Phong, Vietnam",
            ),
            result("web2", "Bolt Metals", "https://boltmetals.de", "Aluminium extrusions, Germany"),
        ],
        query="steel coil importers",
        country="Vietnam",
        industry="steel",
        providers_answered=2,
        kb_provider="knowledge_base",
        kb_texts=["Call notes: Hai Phong Steel asked for a CIF quote."],
        policy=POLICY,
    )
    assert [lead.name for lead in leads] == ["Hai Phong Steel", "Bolt Metals"]
    best, other = leads
    assert best.url == "https://haiphongsteel.com.vn"
    assert best.factors == {
        "relevance": 1.0,
        "corroboration": 1.0,
        "fit": 1.0,
        "knowledge_base": 1.0,
    }
    assert best.score == 1.0
    assert other.factors["relevance"] == 0.0 and other.factors["fit"] == 0.0
    assert other.factors["corroboration"] == 0.5 and other.factors["knowledge_base"] == 0.0
    assert other.score == pytest.approx(0.25 * 0.5)
    assert all(0 <= v <= 1 for lead in leads for v in [lead.score, *lead.factors.values()])


def test_rare_query_terms_weigh_more_than_common_ones() -> None:
    leads = score_leads(
        [
            result("web1", "Alpha Steel", "https://alpha.example", "steel coil"),
            result("web1", "Beta Steel", "https://beta.example", "steel"),
            result("web1", "Gamma Steel", "https://gamma.example", "steel"),
        ],
        query="steel coil",
        country=None,
        industry=None,
        providers_answered=1,
        kb_provider="knowledge_base",
        kb_texts=[],
        policy=POLICY,
    )
    by_name = {lead.name: lead.factors["relevance"] for lead in leads}
    assert by_name["Alpha Steel"] == 1.0
    # "steel" is in every lead, "coil" in one: having only "steel" is worth less than half.
    assert 0 < by_name["Beta Steel"] < 0.5
    assert "fit" not in leads[0].factors  # nothing asked about country or industry


def test_corroboration_counts_distinct_providers_of_those_that_answered() -> None:
    leads = score_leads(
        [
            result("web1", "Acme", "https://acme.com"),
            result("web1", "Acme", "https://acme.com/x"),  # the same provider twice
            result("web2", "Acme Ltd", "https://acme.com"),
            result("web3", "Bolt", "https://bolt.io"),
        ],
        query="acme",
        country=None,
        industry=None,
        providers_answered=4,
        kb_provider="knowledge_base",
        kb_texts=[],
        policy=POLICY,
    )
    assert {lead.name: lead.factors["corroboration"] for lead in leads} == {
        "Acme": 0.5,
        "Bolt": 0.25,
    }


def test_a_lead_the_knowledge_base_found_is_known_to_the_tenant() -> None:
    leads = score_leads(
        [result("knowledge_base", "Delta Imports - account notes", None, "Delta orders coil")],
        query="coil",
        country=None,
        industry=None,
        providers_answered=1,
        kb_provider="knowledge_base",
        kb_texts=[],
        policy=POLICY,
    )
    assert leads[0].name == "Delta Imports" and leads[0].url is None
    assert leads[0].factors["knowledge_base"] == 1.0


def test_weights_are_renormalised_over_the_factors_that_apply() -> None:
    assert weighted({"relevance": 1.0, "corroboration": 0.0}, WEIGHTS) == pytest.approx(0.4 / 0.65)
    assert weighted({}, WEIGHTS) == 0.0


def test_ties_rank_the_better_corroborated_lead_first() -> None:
    leads = score_leads(
        [
            result("web1", "Zeta Coil", "https://zeta.example", "coil"),
            result("web1", "Alpha Coil", "https://alpha.example", "coil"),
            result("web1", "Zeta Coil", "https://zeta.example/b", "coil"),
        ],
        query="coil",
        country=None,
        industry=None,
        providers_answered=1,
        kb_provider="knowledge_base",
        kb_texts=[],
        policy=POLICY,
    )
    assert [(lead.name, len(lead.sources)) for lead in leads] == [
        ("Zeta Coil", 2),
        ("Alpha Coil", 1),
    ]


def test_a_document_title_joins_the_lead_its_second_segment_names() -> None:
    leads = score_leads(
        [
            result("web1", "Saigon Coil Trading", "https://saigoncoil.vn", "steel coil"),
            result("knowledge_base", "Call notes - Saigon Coil Trading", None, "quote for coil"),
            result("knowledge_base", "Call notes - Mekong Steel", None, "quote for coil"),
        ],
        query="coil",
        country=None,
        industry=None,
        providers_answered=2,
        kb_provider="knowledge_base",
        kb_texts=[],
        policy=POLICY,
    )
    by_name = {lead.name: lead for lead in leads}
    assert set(by_name) == {"Saigon Coil Trading", "Call notes"}
    assert {s.provider for s in by_name["Saigon Coil Trading"].sources} == {
        "web1",
        "knowledge_base",
    }
    assert by_name["Saigon Coil Trading"].factors["knowledge_base"] == 1.0
