"""Evidence about a counterparty: search results and passages of the tenant's own
documents, kept only when they are about it, one item per page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tradebus_providers import SearchResult
from tradebus_retrieval import RetrievedChunk

from .organisations import passage_about
from .text import find_phrase, label_matches_name, name_tokens, registrable_domain, words

KNOWLEDGE_BASE = "knowledge_base"


@dataclass(frozen=True, slots=True)
class Item:
    """One piece of evidence: a search result or a passage of the tenant's documents."""

    source: Literal["search", "knowledge_base"]
    provider: str
    title: str
    snippet: str
    url: str | None = None
    document_id: str | None = None
    # A passage of the tenant's documents: the website it gives the counterparty, and
    # whether the snippet is the passage about it (every sentence of it is about the
    # counterparty, however far from the name) rather than words around a mention.
    website: str | None = None
    passage: bool = False

    @property
    def domain(self) -> str | None:
        return registrable_domain(self.url)


def names_it(name: str, item: Item) -> bool:
    return bool(find_phrase(words(f"{item.title} {item.snippet}"), name_tokens(name)))


def about(name: str, item: Item, website: str | None = None) -> bool:
    """Is the item about the counterparty at all: every word of its name present, or
    on a site that spells the name, or on the stated website? Search engines also
    return pages that only share a word with the query; those are not evidence."""
    wanted = set(name_tokens(name))
    if wanted and wanted <= set(words(f"{item.title} {item.snippet}")):
        return True
    domain = item.domain
    if domain is None:
        return False
    return label_matches_name(domain, name) or domain == registrable_domain(website)


def assess_queries(name: str, country: str | None) -> list[str]:
    """What the search providers are asked: who it is, and whether it is in trouble."""
    located = f'"{name}" {country}' if country else f'"{name}"'
    return [located.strip(), f'"{name}" sanctions fraud lawsuit']


def excerpt(name: str, text: str, *, radius: int = 30) -> str:
    """The words around the first mention of the name (the whole text when short)."""
    plain = text.split()
    if len(plain) <= 2 * radius:
        return " ".join(plain)
    tokens = [words(w) for w in plain]
    phrase = name_tokens(name)
    flat: list[str] = []
    owner: list[int] = []  # which whitespace word each folded token came from
    for index, parts in enumerate(tokens):
        flat.extend(parts)
        owner.extend([index] * len(parts))
    found = find_phrase(flat, phrase)
    centre = owner[found[0]] if found else 0
    start = max(0, centre - radius)
    end = min(len(plain), centre + radius)
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(plain) else ""
    return prefix + " ".join(plain[start:end]) + suffix


def from_search(name: str, results: Sequence[SearchResult], website: str | None) -> list[Item]:
    """One item per address (several queries and engines return the same page), only
    the pages about the counterparty."""
    seen: set[str] = set()
    items = []
    for r in results:
        key = r.url or f"{r.provider}:{r.title}"
        if key in seen:
            continue
        seen.add(key)
        item = Item("search", r.provider, r.title, r.snippet, r.url)
        if about(name, item, website):
            items.append(item)
    return items


def from_documents(name: str, chunks: Sequence[RetrievedChunk]) -> list[Item]:
    """The tenant's passages that name the counterparty: the sentences about it (from a
    mention up to the next organisation, so "the company was named in a dispute" two
    sentences on still counts and a neighbour's does not), else an excerpt around the name
    when only the document's title names it. A passage another chunk of the same document
    already holds (chunks overlap) is dropped. The nearest chunks that do not name it are
    not evidence about it."""
    items: list[Item] = []
    for c in chunks:
        title = c.title or c.document_id
        if not names_it(name, Item("knowledge_base", KNOWLEDGE_BASE, c.title, c.text)):
            continue
        found = passage_about(name, c.text)
        if found is None:
            items.append(
                Item(
                    "knowledge_base",
                    KNOWLEDGE_BASE,
                    title,
                    excerpt(name, c.text),
                    None,
                    c.document_id,
                )
            )
            continue
        items.append(
            Item(
                "knowledge_base",
                KNOWLEDGE_BASE,
                title,
                found.snippet,
                None,
                c.document_id,
                website=found.website,
                passage=True,
            )
        )
    return [
        item
        for n, item in enumerate(items)
        if not any(
            m != n
            and other.document_id == item.document_id
            and item.snippet in other.snippet
            and (len(item.snippet) < len(other.snippet) or m < n)
            for m, other in enumerate(items)
        )
    ]
