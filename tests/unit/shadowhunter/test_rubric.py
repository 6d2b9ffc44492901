"""The assessment rubric: each factor, the score as the sum of contributions, the bands."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tradebus_shadowhunter.domain.evidence import Item, about, assess_queries
from tradebus_shadowhunter.domain.rubric import (
    FACTORS,
    RubricPolicy,
    assess,
    band,
    compose_rationale,
    risk_terms,
)
from tradebus_shadowhunter.settings import RubricWeights, ShadowhunterSettings

WEIGHTS = RubricWeights().model_dump()
POLICY = RubricPolicy(weights=WEIGHTS, shared_domains=frozenset({"linkedin.com"}))
NAME = "Hai Phong Steel JSC"


def web(title: str, url: str, snippet: str = "", provider: str = "web1") -> Item:
    return Item("search", provider, title, snippet, url)


def kb(title: str, text: str, document_id: str) -> Item:
    return Item("knowledge_base", "knowledge_base", title, text, None, document_id)


STRONG = [
    web("Hai Phong Steel JSC - Official site", "https://haiphongsteel.com.vn", "Cold rolled coil."),
    web("Hai Phong Steel JSC | LinkedIn", "https://linkedin.com/company/hps", "Hai Phong Steel"),
    web("Vietnam steel importers", "https://steelnews.example/vn", "Hai Phong Steel JSC grew 20%"),
    web("Trade fair exhibitors", "https://fair.example/list", "Hai Phong Steel JSC, booth 4"),
    web("Port news", "https://portnews.example/a", "Hai Phong Steel imports coil", "web2"),
    kb("Call notes 2024-03", "Agreed CIF terms with Hai Phong Steel JSC.", "doc-1"),
    kb("Contract HPS-7", "Buyer: Hai Phong Steel JSC, Hai Phong.", "doc-2"),
    kb("Quote follow-up", "Hai Phong Steel asked for the mill certificate.", "doc-3"),
]


def factor(result, name):
    return next(f for f in result.factors if f.name == name)


def test_contributions_sum_to_the_score_and_weights_to_one() -> None:
    result = assess(NAME, website=None, evidence=STRONG, policy=POLICY)
    assert [f.name for f in result.factors] == list(FACTORS)
    assert sum(f.weight for f in result.factors) == pytest.approx(1.0)
    for f in result.factors:
        assert f.contribution == pytest.approx(f.weight * f.value * 100, abs=0.01)
        assert 0 <= f.value <= 1 and f.explanation
    assert result.score == pytest.approx(sum(f.contribution for f in result.factors))


def test_strong_evidence_is_a_high_band_with_explanations_naming_it() -> None:
    result = assess(
        NAME, website="https://www.haiphongsteel.com.vn", evidence=STRONG, policy=POLICY
    )
    assert result.score == 100.0 and result.band == "high"
    assert "haiphongsteel.com.vn" in factor(result, "web_presence").explanation
    assert "steelnews.example" in factor(result, "identity").explanation
    assert "'Call notes 2024-03'" in factor(result, "relationship_history").explanation
    assert "the tenant's documents" in factor(result, "corroboration").explanation


def test_no_evidence_scores_only_the_absence_of_adverse_media() -> None:
    result = assess(NAME, website=None, evidence=[], policy=POLICY)
    values = {f.name: f.value for f in result.factors}
    assert values == {
        "identity": 0.0,
        "web_presence": 0.0,
        "corroboration": 0.0,
        "relationship_history": 0.0,
        "adverse_media": 1.0,
    }
    assert result.score == pytest.approx(WEIGHTS["adverse_media"] * 100)
    assert result.band == "low"


def test_risk_terms_near_the_name_lower_the_score() -> None:
    adverse = [
        web("Hai Phong Steel JSC fined for customs fraud", "https://news.example/1"),
        web("Court", "https://court.example/2", "Lawsuit names Hai Phong Steel JSC as defendant"),
    ]
    clean = assess(NAME, website=None, evidence=STRONG, policy=POLICY)
    risky = assess(NAME, website=None, evidence=STRONG + adverse, policy=POLICY)
    media = factor(risky, "adverse_media")
    assert media.value == 0.0  # two flagged items saturate the risk
    assert "fined/fraud" in media.explanation and "news.example" in media.explanation
    assert risky.score < clean.score


def test_risk_terms_far_from_the_name_do_not_count() -> None:
    far = " ".join(["word"] * 30)
    item = web(
        "Market report", "https://r.example", f"Hai Phong Steel JSC exports coil. {far} fraud"
    )
    result = assess(NAME, website=None, evidence=[item], policy=POLICY)
    assert factor(result, "adverse_media").value == 1.0


def test_web_presence_prefers_the_stated_website() -> None:
    found = [web("Hai Phong Steel", "https://haiphongsteel.com.vn")]
    assert (
        factor(
            assess(NAME, website="haiphongsteel.com.vn", evidence=found, policy=POLICY),
            "web_presence",
        ).value
        == 1.0
    )
    other = factor(
        assess(NAME, website="hps-group.vn", evidence=found, policy=POLICY), "web_presence"
    )
    assert other.value == 0.5 and "hps-group.vn not found" in other.explanation
    profile = [web("Hai Phong Steel JSC | LinkedIn", "https://www.linkedin.com/company/hps")]
    assert (
        factor(assess(NAME, website=None, evidence=profile, policy=POLICY), "web_presence").value
        == 0.4
    )


def test_evidence_is_about_the_counterparty_by_name_site_or_stated_website() -> None:
    assert about(NAME, web("Steel news", "https://n.example", "Steel maker of Hai Phong expands"))
    assert about(NAME, web("Products", "https://haiphongsteel.com.vn/p"))
    assert about(NAME, web("Group site", "https://hps-group.vn"), website="hps-group.vn")
    assert not about(NAME, web("Saigon Coil", "https://saigoncoil.vn", "steel coil, Vietnam"))


def test_identity_counts_independent_domains_not_pages() -> None:
    same_site = [
        web("Hai Phong Steel JSC", "https://haiphongsteel.com.vn/"),
        web("About Hai Phong Steel JSC", "https://haiphongsteel.com.vn/about"),
    ]
    result = assess(NAME, website=None, evidence=same_site, policy=POLICY)
    assert factor(result, "identity").value == pytest.approx(1 / 3, abs=1e-4)


@pytest.mark.parametrize(
    ("score", "expected"),
    [(100, "high"), (70, "high"), (69.99, "medium"), (40, "medium"), (39.99, "low"), (0, "low")],
)
def test_bands(score: float, expected: str) -> None:
    assert band(score) == expected


def test_the_composed_rationale_is_built_from_the_factor_explanations() -> None:
    result = assess(NAME, website=None, evidence=STRONG, policy=POLICY)
    text = compose_rationale(NAME, result)
    assert text.startswith(f"{NAME} scores {result.score:g}/100, a high confidence nexus.")
    assert all(f.explanation in text for f in result.factors)
    assert compose_rationale(NAME, result) == text


def test_assessment_queries_ask_who_it_is_and_whether_it_is_in_trouble() -> None:
    assert assess_queries(NAME, "Vietnam") == [
        '"Hai Phong Steel JSC" Vietnam',
        '"Hai Phong Steel JSC" sanctions fraud lawsuit',
    ]


def test_rubric_weights_must_sum_to_one() -> None:
    with pytest.raises(ValidationError, match="sum to 1"):
        RubricWeights(identity=0.5)
    settings = ShadowhunterSettings(rubric_weights={"identity": 0.2, "adverse_media": 0.25})
    assert sum(settings.rubric_weights.model_dump().values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("sentence", "found"),
    [
        ("was named in a customs valuation dispute", ["customs valuation", "dispute"]),
        ("paid on under-declared invoices", ["under declared"]),
        ("its undervalued invoices", ["undervalued"]),
        ("asked for an enhanced due-diligence review", ["enhanced due diligence"]),
        ("is under investigation", ["investigation"]),
        ("had a cargo seized and paid a penalty", ["seized", "penalty"]),
        ("was debarred, then went bankrupt", ["debarred", "bankrupt"]),
        ("entered insolvency after a lawsuit", ["insolvency", "lawsuit"]),
        ("is on the sanctions list for fraud", ["sanctions", "fraud"]),
        ("ships under a letter of credit, due in 60 days", []),
        ("pays its invoices on time after a diligent review", []),
    ],
)
def test_trade_compliance_red_flags_are_risk_terms(sentence: str, found: list[str]) -> None:
    assert risk_terms(NAME, f"{NAME} {sentence}.", window=12) == found


def test_risk_terms_come_from_the_settings() -> None:
    settings = ShadowhunterSettings()
    assert {"disput", "customs valuation", "enhanced due diligence"} <= set(settings.risk_terms)
    custom = ShadowhunterSettings(risk_terms=["late payment"])
    policy = RubricPolicy(weights=WEIGHTS, risk_terms=tuple(custom.risk_terms))
    item = web("News", "https://n.example", f"{NAME} is known for late payments")
    media = factor(assess(NAME, website=None, evidence=[item], policy=policy), "adverse_media")
    assert media.value == 0.5 and "late payments" in media.explanation
    fraud = web("News", "https://n.example", f"{NAME} fraud")
    assert (
        factor(assess(NAME, website=None, evidence=[fraud], policy=policy), "adverse_media").value
        == 1.0
    )
    with pytest.raises(ValidationError, match="without a word"):
        ShadowhunterSettings(risk_terms=["fraud", " - "])


def test_a_passage_about_the_counterparty_counts_its_risk_terms_however_far() -> None:
    far = " ".join(["word"] * 30)
    text = f"{NAME} imports coil. {far}. The company was named in a customs valuation dispute."
    window = kb("Account notes", text, "doc-1")
    passage = Item("knowledge_base", "knowledge_base", "Account notes", text, None, "doc-1",
                   passage=True)  # fmt: skip
    assert (
        factor(assess(NAME, website=None, evidence=[window], policy=POLICY), "adverse_media").value
        == 1.0
    )
    media = factor(assess(NAME, website=None, evidence=[passage], policy=POLICY), "adverse_media")
    assert media.value == 0.5
    assert (
        "customs valuation/dispute in 'Account notes' (the tenant's documents)" in media.explanation
    )


def test_a_website_from_the_tenants_documents_is_some_web_presence() -> None:
    notes = Item("knowledge_base", "knowledge_base", "Account notes", f"{NAME} imports coil.",
                 None, "doc-1", website="https://haiphongsteel.example", passage=True)  # fmt: skip
    offline = factor(assess(NAME, website=None, evidence=[notes], policy=POLICY), "web_presence")
    assert offline.value == 0.5
    assert "site haiphongsteel.example from the tenant's documents" in offline.explanation
    stated = factor(
        assess(NAME, website="haiphongsteel.example", evidence=[notes], policy=POLICY),
        "web_presence",
    )
    assert stated.value == 0.5
    other = factor(
        assess(NAME, website="hps-group.vn", evidence=[notes], policy=POLICY), "web_presence"
    )
    assert other.value == 0.25 and "hps-group.vn not found" in other.explanation
    # A site seen on the web still counts for more.
    found = [web("Hai Phong Steel", "https://haiphongsteel.com.vn"), notes]
    assert (
        factor(assess(NAME, website=None, evidence=found, policy=POLICY), "web_presence").value
        == 1.0
    )


def test_a_passages_document_title_is_not_about_the_counterparty() -> None:
    passage = Item("knowledge_base", "knowledge_base", "Sanctions screening checklist",
                   f"{NAME} passed the screening.", None, "doc-1", passage=True)  # fmt: skip
    media = factor(assess(NAME, website=None, evidence=[passage], policy=POLICY), "adverse_media")
    assert media.value == 1.0
