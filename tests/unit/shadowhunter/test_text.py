"""Name and address normalisation: what makes two mentions the same organisation."""

from __future__ import annotations

import pytest

from tradebus_shadowhunter.domain.text import (
    label_matches_name,
    mentions,
    name_key,
    organisation_name,
    registrable_domain,
    terms,
)


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.haiphongsteel.com.vn/products/coil", "haiphongsteel.com.vn"),
        ("https://shop.acme.co.uk", "acme.co.uk"),
        ("http://news.example.com/a?b=c", "example.com"),
        ("acme.com", "acme.com"),
        ("http://localhost:8080/x", None),
        (None, None),
    ],
)
def test_registrable_domain(url: str | None, domain: str | None) -> None:
    assert registrable_domain(url) == domain


def test_names_fold_case_accents_punctuation_and_legal_forms() -> None:
    assert name_key("Hải Phòng Steel J.S.C.") == "hai phong steel"
    assert name_key("HAI PHONG STEEL Joint Stock Company") == "hai phong steel"
    assert name_key("The Acme & Sons Co., Ltd.") == "acme and sons"
    assert name_key("Công ty TNHH Đông Á") == "cong ty dong a"


def test_mentions_needs_the_whole_name_in_order() -> None:
    assert mentions("Hai Phong Steel JSC", "Minutes: met HẢI PHÒNG STEEL at the Hanoi fair.")
    assert not mentions("Hai Phong Steel JSC", "Hai Phong port handles steel coil.")
    assert not mentions("Ltd", "any text at all")  # a name of legal forms only names no one


def test_the_organisation_is_the_title_segment_its_host_spells() -> None:
    title = "Cold rolled coil importers | Hai Phong Steel"
    assert organisation_name(title, "haiphongsteel.com.vn") == "Hai Phong Steel"
    assert organisation_name("Home - Acme Trading", None) == "Acme Trading"
    assert organisation_name("Hai Phong Steel JSC - Official site", None) == "Hai Phong Steel JSC"


def test_a_host_name_spells_the_organisation() -> None:
    assert label_matches_name("haiphongsteel.com.vn", "Hai Phong Steel JSC")
    assert label_matches_name("acme.com", "Acme Trading Ltd")
    assert not label_matches_name("linkedin.com", "Acme Trading Ltd")


def test_terms_drop_stopwords_plurals_and_inflections() -> None:
    assert terms("Importers of cold-rolled steel coils in Vietnam") == [
        "import",
        "cold",
        "roll",
        "steel",
        "coil",
        "vietnam",
    ]
    # A buyer that "imports" or is "importing" coil is what "coil importers" asks for.
    assert {*terms("imports"), *terms("importing"), *terms("imported")} == {"import"}
    assert terms("paper order need traders trading") == ["paper", "order", "need", "trad", "trad"]
