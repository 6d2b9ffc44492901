"""Leads from search results: dedupe into organisations, score with transparent factors,
rank. Every factor is in 0..1 and travels with the lead, so a caller sees why it ranks
where it does."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from tradebus_providers.types import SearchResult

from .text import (
    domain_label,
    mentions,
    name_key,
    organisation_name,
    registrable_domain,
    segments,
    terms,
    words,
)

MAX_SOURCES = 8  # per lead in the reply; the score uses them all


@dataclass(frozen=True, slots=True)
class LeadPolicy:
    weights: Mapping[str, float]
    name_similarity: float = 0.9
    shared_domains: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Candidate:
    """One search result, read as a mention of one organisation."""

    result: SearchResult
    name: str
    key: str  # normalised name
    domain: str | None  # registrable domain, unless it is a shared (directory) one


@dataclass(frozen=True, slots=True)
class ScoredLead:
    name: str
    url: str | None
    score: float
    factors: dict[str, float]
    sources: list[SearchResult] = field(default_factory=list)


def candidate(result: SearchResult, shared_domains: frozenset[str]) -> Candidate:
    domain = registrable_domain(result.url)
    own = domain if domain and domain not in shared_domains else None
    name = organisation_name(result.title, own)
    return Candidate(result, name, name_key(name), own)


def hunt_query(query: str, country: str | None, industry: str | None) -> str:
    """The query sent to providers: the user's words, plus the industry and country
    words the query does not already contain."""
    have = set(terms(query))
    extra = [
        w
        for part in (industry, country)
        if part
        for w in part.split()
        if terms(w) and not set(terms(w)) <= have
    ]
    return " ".join([query.strip(), *extra])


def same_organisation(a: Candidate, b: Candidate, similarity: float) -> bool:
    if a.domain is not None and a.domain == b.domain:
        return True
    if not a.key or not b.key:
        return False
    if a.key.replace(" ", "") == b.key.replace(" ", ""):  # "hai phong" vs "haiphong"
        return True
    return SequenceMatcher(None, a.key, b.key).ratio() >= similarity


def align_names(candidates: Sequence[Candidate], similarity: float) -> list[Candidate]:
    """A result without an address (a document of the tenant's) has only its title to go
    by, and "Call notes - Saigon Coil Trading" names its organisation second: take the
    title segment that another result names, when one does."""
    out = []
    for c in candidates:
        if c.domain is None:
            for part in segments(c.result.title):
                trial = Candidate(c.result, part, name_key(part), None)
                if trial.key != c.key and any(
                    o is not c and o.key and same_organisation(trial, o, similarity)
                    for o in candidates
                ):
                    c = trial
                    break
        out.append(c)
    return out


def dedupe(candidates: Sequence[Candidate], similarity: float) -> list[list[Candidate]]:
    """Groups of candidates naming the same organisation (union-find over the pairs that
    share a registrable domain or have near-identical names), in first-seen order."""
    parent = list(range(len(candidates)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(candidates)):
        for j in range(i + 1, len(candidates)):
            if root(i) != root(j) and same_organisation(candidates[i], candidates[j], similarity):
                parent[max(root(i), root(j))] = min(root(i), root(j))
    groups: dict[int, list[Candidate]] = {}
    for i, c in enumerate(candidates):
        groups.setdefault(root(i), []).append(c)
    return list(groups.values())


def idf(documents: Sequence[set[str]]) -> dict[str, float]:
    """BM25's inverse document frequency over the candidate leads."""
    n = len(documents)
    df: Counter[str] = Counter(t for doc in documents for t in doc)
    return {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}


def relevance(query_terms: set[str], lead_terms: set[str], weights: Mapping[str, float]) -> float:
    """IDF-weighted share of the query's terms the lead's titles and snippets contain:
    a term every lead has counts little, a rare one a lot. A query term no lead has
    weighs as if one lead had it."""
    if not query_terms:
        return 0.0
    default = max(weights.values(), default=1.0)
    total = sum(weights.get(t, default) for t in query_terms)
    found = sum(weights.get(t, default) for t in query_terms & lead_terms)
    return found / total if total else 0.0


def fit(country: str | None, industry: str | None, lead_terms: set[str]) -> float | None:
    """Share of the asked country and industry the lead's text mentions; None when the
    request asked for neither (the factor does not apply)."""
    parts = []
    if country and terms(country):
        parts.append(float(set(terms(country)) <= lead_terms))
    if industry and terms(industry):
        wanted = set(terms(industry))
        parts.append(len(wanted & lead_terms) / len(wanted))
    return sum(parts) / len(parts) if parts else None


def known_to_tenant(group: Sequence[Candidate], kb_provider: str, kb_texts: Sequence[str]) -> float:
    """1 when the tenant's own documents found or mention the organisation."""
    if any(c.result.provider == kb_provider for c in group):
        return 1.0
    keys = {c.name for c in group if c.key}
    labels = {domain_label(c.domain) for c in group if c.domain}
    for text in kb_texts:
        if any(mentions(name, text) for name in keys):
            return 1.0
        if labels & set(words(text)):
            return 1.0
    return 0.0


def lead_name(group: Sequence[Candidate]) -> str:
    """The most common name among the group, in the spelling seen first."""
    counts = Counter(c.key for c in group if c.key)
    if not counts:
        return group[0].name
    best = max(counts, key=lambda k: (counts[k], -len(k)))
    return next(c.name for c in group if c.key == best)


def lead_url(group: Sequence[Candidate]) -> str | None:
    """The organisation's own site: the shortest address on its own domain."""
    urls = [c.result.url for c in group if c.domain and c.result.url]
    return min(urls, key=lambda u: (len(u), u)) if urls else None


def weighted(factors: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Sum of weight x factor over the factors that apply, divided by their weights."""
    total = sum(weights.get(name, 0.0) for name in factors)
    if total <= 0:
        return 0.0
    return sum(weights.get(name, 0.0) * value for name, value in factors.items()) / total


def score_leads(
    results: Iterable[SearchResult],
    *,
    query: str,
    country: str | None,
    industry: str | None,
    providers_answered: int,
    kb_provider: str,
    kb_texts: Sequence[str],
    policy: LeadPolicy,
) -> list[ScoredLead]:
    """Every lead found, best first."""
    candidates = align_names(
        [candidate(r, policy.shared_domains) for r in results], policy.name_similarity
    )
    groups = dedupe(candidates, policy.name_similarity)
    texts = [
        set(terms(" ".join(f"{c.result.title} {c.result.snippet}" for c in g))) for g in groups
    ]
    weights = idf(texts)
    query_terms = set(terms(query))
    leads = []
    for group, lead_terms in zip(groups, texts, strict=True):
        found_by = {c.result.provider for c in group}
        factors = {
            "relevance": relevance(query_terms, lead_terms, weights),
            "corroboration": min(1.0, len(found_by) / max(1, providers_answered)),
            "knowledge_base": known_to_tenant(group, kb_provider, kb_texts),
        }
        fitness = fit(country, industry, lead_terms)
        if fitness is not None:
            factors["fit"] = fitness
        factors = {k: round(v, 4) for k, v in factors.items()}
        leads.append(
            ScoredLead(
                name=lead_name(group),
                url=lead_url(group),
                score=round(weighted(factors, policy.weights), 4),
                factors=factors,
                sources=[c.result for c in group],
            )
        )
    return rank(leads)


def rank(leads: Iterable[ScoredLead]) -> list[ScoredLead]:
    """Best score first; ties go to the better corroborated, then by name (stable)."""
    return sorted(leads, key=lambda lead: (-lead.score, -len(lead.sources), lead.name))
