"""The organisation recogniser and passages, on the account notes of
samples/documents/steel-buyers-southeast-asia.md: as written (markdown headings, wrapped
lines) and as omnirag-ingest stores it (chunks with every line break flattened)."""

from __future__ import annotations

import pytest

from tests.unit.shadowhunter.fakes import FakeIndex
from tests.unit.shadowhunter.samples import NOTES as RAW
from tests.unit.shadowhunter.samples import NOTES_CHUNKS as CHUNKS
from tradebus_resilience import Downstream, DownstreamSettings
from tradebus_retrieval import RetrievedChunk
from tradebus_shadowhunter.adapters import KnowledgeBaseSearch
from tradebus_shadowhunter.domain.organisations import organisations, passage_about, website
from tradebus_shadowhunter.domain.text import name_key

EXPECTED = {
    "Saigon Coil Trading Co., Ltd.": "https://saigoncoil.example",
    "Hai Phong Steel JSC": "https://haiphongsteel.example",
    "Mekong Metals Import Export": "https://mekongmetals.example",
    "Bangkok Flat Steel Co., Ltd.": "https://bangkokflatsteel.example",
    "PT Jakarta Coil Distributors": "https://jakartacoil.example",
}
JUNK = {"internal", "vietnam", "thailand", "indonesia", "steel", "import", "korean", "ho chi minh"}


def test_all_five_organisations_of_the_raw_notes_with_their_websites() -> None:
    found = organisations(RAW)
    assert {o.name: o.website for o in found} == EXPECTED
    assert [o.name for o in found] == list(EXPECTED)  # first-mention order


def test_the_same_five_from_the_flattened_chunks_and_nothing_else() -> None:
    assert len(CHUNKS) > 1 and all("\n" not in c for c in CHUNKS)
    found = [o for chunk in CHUNKS for o in organisations(chunk)]
    names = {o.name for o in found}
    assert names == set(EXPECTED)
    assert not {name_key(n) for n in names} & JUNK
    # Each website as the notes give it; a chunk that cut the name off from its website
    # has no website rather than a neighbour's.
    for org in found:
        assert org.website in (EXPECTED[org.name], None)
    assert {o.name for o in found if o.website} == set(EXPECTED)


def test_variants_of_one_name_are_one_organisation() -> None:
    by_name = {o.name: o for o in organisations(RAW)}
    assert set(by_name["Saigon Coil Trading Co., Ltd."].variants) == {
        "Saigon Coil Trading Co., Ltd.",
        "Saigon Coil Trading",
    }
    assert "Mekong Metals" in by_name["Mekong Metals Import Export"].variants
    assert "Jakarta Coil Distributors" in by_name["PT Jakarta Coil Distributors"].variants


def test_a_flattened_heading_is_cut_from_the_name_and_the_snippet() -> None:
    # "... (D/P). Thailand Bangkok Flat Steel Co., Ltd. Bangkok Flat Steel imports ..."
    chunk = next(c for c in CHUNKS if "Thailand Bangkok Flat Steel" in c)
    bangkok = next(o for o in organisations(chunk) if "Bangkok" in o.name)
    assert bangkok.name == "Bangkok Flat Steel Co., Ltd."
    assert bangkok.snippet.startswith("Bangkok Flat Steel imports cold-rolled steel coil")
    assert "Thailand Bangkok" not in bangkok.snippet


def test_the_snippet_is_the_sentences_about_it_up_to_the_next_organisation() -> None:
    by_name = {o.name: o for chunk in CHUNKS for o in organisations(chunk) if o.website}
    hps = by_name["Hai Phong Steel JSC"].snippet
    assert hps.startswith("Hai Phong Steel JSC imports hot-dip galvanized coil")
    # "The company ..." two sentences on is still about it ...
    assert "customs valuation dispute over under-declared invoices" in hps
    assert "enhanced due-diligence review" in hps
    # ... and the next organisation's sentences, and the one before, are not.
    assert "Mekong" not in hps and "usance" not in hps
    assert "dispute" not in by_name["Mekong Metals Import Export"].snippet
    assert "dispute" not in by_name["Saigon Coil Trading Co., Ltd."].snippet


def test_passage_about_a_name_the_caller_gives() -> None:
    chunk = next(c for c in CHUNKS if "customs valuation" in c)
    found = passage_about("Hai Phong Steel JSC", chunk)
    assert found is not None and found.website == "https://haiphongsteel.example"
    assert "under-declared invoices" in found.snippet
    mekong = passage_about("mekong metals", chunk)  # any spelling; a variant is it too
    assert mekong is not None and mekong.snippet.startswith("Mekong Metals is a trading house")
    assert "under-declared" not in mekong.snippet
    assert passage_about("Bolt Metals GmbH", chunk) is None


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("We met Acme Trading Ltd. at the fair. Their CEO flew in.", ["Acme Trading Ltd."]),
        ("Orders go to Nordic Alloys AB and Hanse Stahl GmbH.",
         ["Nordic Alloys AB", "Hanse Stahl GmbH"]),
        ("The buyer is CV Surabaya Baja, a stockist.", ["CV Surabaya Baja"]),
        ("Coil came from U.S. Steel Corp. last year.", ["U.S. Steel Corp."]),
        ("Quotes went to Acme S.A. The company replied.", ["Acme S.A."]),
        ("Hải Phòng Steel J.S.C. imports coil.", ["Hải Phòng Steel J.S.C."]),
        ("Bank of Asia Group confirmed the credit.", ["Bank of Asia Group"]),
        ("Delivery is Ex Works Hamburg under the OFAC SDN rules.", []),
        ("Steel prices rose in Vietnam. Import quotas apply.", []),
        ("Trading Co. Ltd. is a legal form, not a name.", []),
    ],
)  # fmt: skip
def test_recogniser_cases(text: str, names: list[str]) -> None:
    assert [o.name for o in organisations(text)] == names


def test_a_markdown_heading_names_the_organisation_its_section_is_about() -> None:
    text = (
        "# Suppliers\n\n## Busan Coil Works Co., Ltd.\n\nShips from Busan. The company was "
        "sued in 2023.\nWebsite: www.busancoil.example/en\n\n## Market\n\nPrices fell."
    )
    [busan] = organisations(text)
    assert busan.name == "Busan Coil Works Co., Ltd."
    assert busan.website == "https://busancoil.example"
    assert "sued in 2023" in busan.snippet and "Prices fell" not in busan.snippet


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Website: https://www.acme.com.vn/en.", "https://acme.com.vn"),
        ("web site: acme.example; phone +1", "https://acme.example"),
        ("see acme.example", None),
        ("Website: none", None),
    ],
)
def test_website(text: str, expected: str | None) -> None:
    assert website(text) == expected


async def test_the_knowledge_base_gives_one_result_per_organisation() -> None:
    chunks = [
        RetrievedChunk(f"d1:{n}", "d1", "steel buyers southeast asia", text, 0.5 - n / 10)
        for n, text in enumerate(CHUNKS)
    ]
    chunks.append(
        RetrievedChunk("d2:0", "d2", "Payment terms policy", "Open account needs approval.", 0.1)
    )
    kb = KnowledgeBaseSearch(FakeIndex("t1", chunks), Downstream("kb-test", DownstreamSettings()))
    results = await kb.search("steel coil importers", limit=10, tenant_id="t1")
    titles = [r.title for r in results]
    assert "steel buyers southeast asia" not in titles
    assert set(titles) == set(EXPECTED) | {"Payment terms policy"}  # kept: names no one
    hps = next(r for r in results if r.title == "Hai Phong Steel JSC" and r.url)
    assert hps.url == "https://haiphongsteel.example" and hps.provider == "knowledge_base"
    assert "under-declared invoices" in hps.snippet and hps.score == 0.4
    policy = next(r for r in results if r.title == "Payment terms policy")
    assert policy.url is None and policy.snippet == "Open account needs approval."
