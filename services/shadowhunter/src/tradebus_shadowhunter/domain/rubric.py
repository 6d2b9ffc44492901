"""The nexus assessment rubric: five factors, each a value in 0..1 with an explanation
that names its evidence, weighted (weights sum to 1) into a score out of 100.

A factor is evidence *for* the counterparty being a real, established, clean business;
adverse media is counted as 1 - risk so that risk lowers the score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .evidence import Item, about, names_it
from .text import find_phrase, label_matches_name, name_tokens, near, registrable_domain, words

FACTORS = ("identity", "web_presence", "corroboration", "relationship_history", "adverse_media")
# Adverse media and trade-compliance red flags. A term's last word matches as a prefix,
# the words before it whole ("sanction" covers sanctions and sanctioned; "under declar"
# covers "under-declared" and "under declaration", but not "undervalued invoices").
# fmt: off
RISK_TERMS: tuple[str, ...] = (
    # sanctions and export control
    "sanction", "ofac", "embargo", "blacklist", "debar", "denied part", "entity list",
    "watchlist", "watch list", "export control violation",
    # crime and enforcement
    "fraud", "launder", "brib", "corrupt", "scam", "embezzl", "counterfeit", "smuggl",
    "evasion", "forged", "forgery", "falsif", "indict", "convict", "arrest", "seiz",
    "investigat", "probe", "penalt", "fined", "violat",
    # litigation and disputes
    "lawsuit", "sued", "litigat", "disput",
    # customs and trade compliance
    "customs valuation", "under declar", "underdeclar", "undervalu", "under valu",
    "under invoic", "underinvoic", "misdeclar", "mis declar", "misclassif", "mis classif",
    "circumvent", "anti dumping",
    # the tenant's own compliance flags
    "enhanced due diligence", "red flag",
    # financial distress
    "bankrupt", "insolven", "liquidation", "receivership",
)
# fmt: on


def risk_phrases(terms: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """Risk terms as folded word prefixes, the way `words` reads a text."""
    return tuple(dict.fromkeys(tuple(words(t)) for t in terms if words(t)))


@dataclass(frozen=True, slots=True)
class RubricPolicy:
    weights: Mapping[str, float]  # sums to 1
    shared_domains: frozenset[str] = frozenset()
    identity_saturation: int = 3
    corroboration_saturation: int = 5
    relationship_saturation: int = 3
    adverse_saturation: int = 2
    risk_window_words: int = 12
    risk_terms: Sequence[str] = RISK_TERMS


@dataclass(frozen=True, slots=True)
class Factor:
    name: str
    weight: float
    value: float
    contribution: float  # weight x value x 100, points of the score
    explanation: str


@dataclass(frozen=True, slots=True)
class Assessment:
    score: float
    band: Literal["low", "medium", "high"]
    factors: list[Factor]


def band(score: float) -> Literal["low", "medium", "high"]:
    if score >= 70:
        return "high"
    if score >= 40:
        return "medium"
    return "low"


def assess(
    name: str, *, website: str | None, evidence: Sequence[Item], policy: RubricPolicy
) -> Assessment:
    values = {
        "identity": identity(name, evidence, policy),
        "web_presence": web_presence(name, website, evidence, policy),
        "corroboration": corroboration(name, evidence, policy),
        "relationship_history": relationship_history(name, evidence, policy),
        "adverse_media": adverse_media(name, evidence, policy),
    }
    factors = []
    for factor in FACTORS:
        value, explanation = values[factor]
        weight = policy.weights[factor]
        value = round(min(1.0, max(0.0, value)), 4)
        factors.append(Factor(factor, weight, value, round(weight * value * 100, 2), explanation))
    score = round(min(100.0, sum(f.contribution for f in factors)), 2)
    return Assessment(score, band(score), factors)


def _listed(values: Sequence[str], most: int = 5) -> str:
    shown = ", ".join(values[:most])
    return shown + (f" and {len(values) - most} more" if len(values) > most else "")


def _domains(items: Sequence[Item]) -> list[str]:
    return list(dict.fromkeys(d for i in items if (d := i.domain)))


def identity(name: str, evidence: Sequence[Item], policy: RubricPolicy) -> tuple[float, str]:
    """The name appears verbatim in independent sources (distinct web domains)."""
    domains = _domains([i for i in evidence if i.source == "search" and names_it(name, i)])
    if not domains:
        return 0.0, f"no search result names {name!r} verbatim"
    return (
        len(domains) / policy.identity_saturation,
        f"named verbatim by {len(domains)} independent source(s): {_listed(domains)}",
    )


def web_presence(
    name: str, website: str | None, evidence: Sequence[Item], policy: RubricPolicy
) -> tuple[float, str]:
    """An official site: the stated website, else a domain that spells the name."""
    found = _domains([i for i in evidence if i.source == "search"])
    own = [d for d in found if d not in policy.shared_domains]
    stated = registrable_domain(website)
    if stated and stated in found:
        return 1.0, f"the stated website {stated} appears in the search results"
    spelled = [d for d in own if label_matches_name(d, name)]
    if spelled and not stated:
        return 1.0, f"official site {spelled[0]} matches the name"
    if spelled:
        return 0.5, f"stated website {stated} not found, but {spelled[0]} matches the name"
    missing = f"stated website {stated} not found" if stated else "no official site found"
    # Offline, or a site the web did not turn up: the tenant's own notes may give it. Weaker
    # than a site seen on the web (nobody but the tenant vouches for it), and weaker still
    # when it is not the website the counterparty stated.
    own_sites = list(
        dict.fromkeys(
            d
            for i in evidence
            if i.source == "knowledge_base" and (d := registrable_domain(i.website))
        )
    )
    if own_sites and (not stated or stated in own_sites):
        site = stated or own_sites[0]
        return 0.5, f"{missing} on the web; site {site} from the tenant's documents"
    profiles = [
        d
        for d in found
        if d in policy.shared_domains and any(i.domain == d and names_it(name, i) for i in evidence)
    ]
    if profiles:
        return 0.4, f"no official site found; profiles on {_listed(profiles)}"
    if own_sites:
        return 0.25, f"{missing}; the tenant's documents give {_listed(own_sites)} instead"
    return 0.0, f"{missing} in {len(found)} result domain(s)"


def corroboration(name: str, evidence: Sequence[Item], policy: RubricPolicy) -> tuple[float, str]:
    """Independent sources that mention the counterparty: web domains, plus the tenant's
    own records as one more."""
    sources = _domains([i for i in evidence if i.source == "search" and about(name, i)])
    if any(i.source == "knowledge_base" and names_it(name, i) for i in evidence):
        sources.insert(0, "the tenant's documents")
    if not sources:
        return 0.0, "no source mentions the counterparty"
    return (
        len(sources) / policy.corroboration_saturation,
        f"{len(sources)} independent source(s): {_listed(sources)}",
    )


def relationship_history(
    name: str, evidence: Sequence[Item], policy: RubricPolicy
) -> tuple[float, str]:
    """Documents of the tenant's own knowledge base that mention the counterparty."""
    documents: dict[str, str] = {}
    for item in evidence:
        if item.source == "knowledge_base" and names_it(name, item):
            documents.setdefault(item.document_id or item.title, item.title)
    if not documents:
        return 0.0, "no mention in the tenant's documents"
    titles = [repr(t) for t in documents.values()]
    return (
        len(documents) / policy.relationship_saturation,
        f"mentioned in {len(documents)} of the tenant's documents: {_listed(titles, 3)}",
    )


def risk_terms(
    name: str,
    text: str,
    window: int,
    phrases: Sequence[Sequence[str]] | None = None,
    *,
    anywhere: bool = False,
) -> list[str]:
    """Risk terms (as written, folded) within `window` words of a verbatim mention of the
    name, or anywhere in a text all about it (`anywhere`: a passage about the
    counterparty, where "the company" stands for the name)."""
    tokens, phrase = words(text), name_tokens(name)
    anchors = find_phrase(tokens, phrase)
    if not anchors:
        return []
    risks = risk_phrases(RISK_TERMS) if phrases is None else phrases
    hits = [
        (i, " ".join(tokens[i : i + len(risk)]))
        for i in range(len(tokens))
        for risk in risks
        if i + len(risk) <= len(tokens)
        and all(tokens[i + k] == part for k, part in enumerate(risk[:-1]))
        and tokens[i + len(risk) - 1].startswith(risk[-1])
    ]
    return list(
        dict.fromkeys(
            term for i, term in hits if anywhere or near(anchors, len(phrase), [i], window)
        )
    )


def adverse_media(name: str, evidence: Sequence[Item], policy: RubricPolicy) -> tuple[float, str]:
    phrases = risk_phrases(policy.risk_terms)
    flagged: list[tuple[Item, list[str]]] = []
    for item in evidence:
        # A passage is all about the counterparty, but its document's title need not be
        # ("Sanctions screening checklist"): only the passage counts then.
        text = item.snippet if item.passage else f"{item.title} {item.snippet}"
        found = risk_terms(name, text, policy.risk_window_words, phrases, anywhere=item.passage)
        if found:
            flagged.append((item, found))
    if not flagged:
        return 1.0, f"no risk terms near the name in {len(evidence)} evidence item(s)"
    risk = min(1.0, len(flagged) / policy.adverse_saturation)
    described = [
        f"{'/'.join(found)} in {item.title!r} ({item.domain or _source(item)})"
        for item, found in flagged
    ]
    return 1.0 - risk, f"risk terms near the name: {_listed(described, 3)}"


def _source(item: Item) -> str:
    return "the tenant's documents" if item.source == "knowledge_base" else item.provider


def compose_rationale(name: str, assessment: Assessment) -> str:
    """A rationale written from the factor explanations: deterministic, and every claim
    in it is one the evidence supports."""
    parts = [
        f"{f.name.replace('_', ' ')}: {f.explanation} ({f.contribution:g} of {f.weight * 100:g})"
        for f in assessment.factors
    ]
    return (
        f"{name} scores {assessment.score:g}/100, a {assessment.band} confidence nexus. "
        + "; ".join(parts)
        + "."
    )
