"""Organisations named in the tenant's documents, found without a model, and the passage
of a document that is about one of them.

The recogniser reads runs of capitalised words and keeps those that end in a legal form or
a company word ("Hai Phong Steel JSC", "Mekong Metals Import Export") or start with a
legal prefix ("PT Jakarta Coil Distributors"). Documents reach shadowhunter as chunks whose
paragraphs and markdown headings omnirag-ingest flattened into one line, so a heading
shows up as capitalised words glued to its neighbours: "... next order. Vietnam Saigon
Coil Trading Co., Ltd. Saigon Coil Trading is an importer ...". Runs are therefore cut
where one name ends and the next begins (after a legal suffix, before a legal prefix, where
a name repeats), and variants of one name are merged, which also drops a section heading
glued in front ("Vietnam Saigon Coil Trading" is "Saigon Coil Trading" when the text also
says that). Raw text works the same way, with blank lines and `#` headings as boundaries.

Account notes name a company once and then say "it" and "the company", so what a document
says about an organisation is its passage: the sentences from a mention up to the next
sentence (or heading) about another organisation."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .text import LEGAL_FORMS, find_phrase, fold, host, name_tokens, words

# Words, with inner and trailing dots ("Co.", "S.A.", "haiphongsteel.example."), hyphens
# and apostrophes; and single punctuation marks.
_TOKEN = re.compile(r"\w[\w'\u2019./-]*|[^\w\s]")
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?=\s|$)")
# "Website: haiphongsteel.example" (also "Web site", "Homepage", "URL"), scheme optional.
_WEBSITE = re.compile(
    r"\b(?:web\s?site|home\s?page|url|web)\s*:\s*<?"
    r"((?:https?://)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?:[/?#][^\s<>]*)?)",
    re.IGNORECASE,
)

# Legal forms written before the name (Indonesia's PT and CV, Vietnam's Cty).
LEGAL_PREFIXES = frozenset({"pt", "cv", "cty"})
# "Sdn" ends a name only with "Bhd" after it (the "OFAC SDN list" is no company).
LEGAL_SUFFIXES = LEGAL_FORMS - LEGAL_PREFIXES - {"sdn"}
# Words that end trade names: a capitalised run ending in one names a business, not a
# place or a person ("Bangkok Flat Steel", "Mekong Metals Import Export"). Not "Works":
# "Ex Works" is an Incoterm.
# fmt: off
COMPANY_WORDS = frozenset({
    "trading", "traders", "trade", "import", "imports", "importers", "importer", "export",
    "exports", "exporters", "exporter", "distributors", "distributor", "distribution",
    "steel", "steels", "metal", "metals", "alloys", "industries", "industry", "industrial",
    "group", "holdings", "holding", "enterprises", "enterprise", "international",
    "manufacturing", "manufacturers", "mills", "mill", "logistics", "shipping",
    "commodities", "resources", "supply", "supplies", "partners", "associates", "ventures",
    "technologies", "technology", "solutions", "chemicals", "textiles", "foods",
    "materials", "products", "engineering", "stockists", "wholesale", "wholesalers",
    "sourcing", "agency", "brothers", "sons",
})
# Words of a legal form that are not legal forms on their own ("Joint Stock Company").
_LEGAL_WORDS = frozenset({"joint", "stock"})
# Lower-case words allowed inside a name, between capitalised ones ("Bank of Asia").
_JOINERS = frozenset({"&", "of", "de", "du", "des", "da", "van", "von", "der"})
# Capitalised only because they start a sentence: never the first word of a name.
_STARTERS = frozenset({
    "the", "a", "an", "our", "their", "its", "his", "her", "this", "that", "these", "those",
    "we", "they", "it", "in", "on", "at", "for", "from", "with", "by", "to", "and", "but",
    "or", "as", "when", "while", "after", "before", "since", "if", "both", "each", "every",
    "all", "any", "some", "no", "contact", "dear", "per", "via", "like", "unlike", "about",
    "also", "then", "however", "meanwhile", "buyer", "seller", "customer", "supplier",
})
# Legal forms written as abbreviations: "Ltd." keeps its full stop, "GmbH." does not.
_ABBREVIATED_FORMS = frozenset({"co", "ltd", "inc", "corp", "pte", "pty", "pvt", "bhd", "tbk"})
# Abbreviations whose full stop does not end a sentence.
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "no", "nos", "vs", "approx", "incl"})
# fmt: on
_SENTENCE_MARKS = frozenset({".", "!", "?", "…"})


@dataclass(frozen=True, slots=True)
class Passage:
    """What a text says about one organisation: its sentences, and its website when the
    text gives one ("Website: x.example", as https://x.example)."""

    snippet: str
    website: str | None = None


@dataclass(frozen=True, slots=True)
class Organisation:
    name: str  # the fullest spelling seen: "Saigon Coil Trading Co., Ltd."
    snippet: str
    website: str | None = None
    variants: tuple[str, ...] = ()  # every spelling seen, first-seen order


def organisations(text: str) -> list[Organisation]:
    """The organisations a text names, in order of first mention."""
    doc = _Document(text)
    found = []
    for group, mentions in doc.groups.items():
        own = {doc.sentence_of[m.first] for m in mentions}
        passage = doc.passage(own, {group})
        spellings = list(dict.fromkeys(doc.spell(m) for m in mentions))
        best = max(mentions, key=lambda m: (len(m.core), m.last - m.first, -m.first))
        found.append(
            Organisation(doc.spell(best), passage.snippet, passage.website, tuple(spellings))
        )
    return found


def passage_about(name: str, text: str) -> Passage | None:
    """The sentences of `text` about the organisation called `name` (None when the text
    never names it verbatim), whether or not the recogniser would have found the name."""
    doc = _Document(text)
    phrase = name_tokens(name)
    spans = doc.find(phrase)
    if not spans:
        return None
    own = {doc.sentence_of[first] for first, _ in spans}
    # The recognised organisations that are this one: their mentions overlap the name's.
    itself = {
        group
        for group, mentions in doc.groups.items()
        if any(m.first <= last and first <= m.last for m in mentions for first, last in spans)
    }
    return doc.passage(own, itself)


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start: int
    end: int
    block: int
    heading: bool  # in a markdown heading line
    key: str  # folded, dots dropped: "Co." -> "co", "S.A." -> "sa"

    @property
    def capital(self) -> bool:
        return self.text[0].isupper()

    @property
    def lower(self) -> bool:
        return self.text[0].islower() or self.text[0].isdigit()


@dataclass(slots=True)
class _Mention:
    first: int  # token indices, inclusive
    last: int
    core: tuple[str, ...]  # folded words without legal forms
    owners: tuple[int, ...]  # the token each core word came from


class _Document:
    """One text read into tokens, mentions grouped by organisation, and sentences."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        mentions, repeats = self._mentions()
        self.groups = _group(mentions)
        self.sentences = self._sentences(repeats, mentions)
        self.sentence_of: dict[int, int] = {
            i: s for s, (first, last) in enumerate(self.sentences) for i in range(first, last + 1)
        }
        self.mentioned: list[set[int]] = [set() for _ in self.sentences]
        self.covered: set[int] = set()
        for group, found in self.groups.items():
            for m in found:
                self.mentioned[self.sentence_of[m.first]].add(group)
                self.covered.update(range(m.first, m.last + 1))

    # -- names ---------------------------------------------------------------------------

    def _runs(self) -> list[list[int]]:
        """Maximal runs of capitalised words (with joiners and the comma of "Co., Ltd.")
        inside one block, ended by a full stop unless a legal form follows it."""
        tokens = self.tokens
        runs: list[list[int]] = []
        run: list[int] = []
        for i, token in enumerate(tokens):
            if run and not self._continues(run[-1], i):
                runs.append(run)
                run = []
            if token.capital or (run and self._inner(i)):
                run.append(i)
            elif run:
                runs.append(run)
                run = []
        if run:
            runs.append(run)
        return runs

    def _inner(self, i: int) -> bool:
        """A joiner or comma inside a name: followed by a capitalised word (a comma only
        by a legal form)."""
        tokens = self.tokens
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if nxt is None or nxt.block != tokens[i].block or not nxt.capital:
            return False
        if tokens[i].text == ",":
            return nxt.key in LEGAL_FORMS
        return tokens[i].key in _JOINERS

    def _continues(self, prev: int, i: int) -> bool:
        a, b = self.tokens[prev], self.tokens[i]
        if a.block != b.block:
            return False
        if a.text.endswith(".") and len(a.text) > 1:
            # "Co., Ltd." and "Co. Ltd." go on, and so do initialisms ("U.S. Steel");
            # "Ltd. Saigon" is the next sentence.
            return ("." in a.text[:-1] and b.capital) or (
                a.key in LEGAL_FORMS and (b.key in LEGAL_FORMS or b.text == ",")
            )
        return True

    def _mentions(self) -> tuple[list[_Mention], set[int]]:
        """Every name in the text, and the token positions where a run held two names of
        one organisation back to back (a flattened heading and the sentence under it)."""
        mentions: list[_Mention] = []
        repeats: set[int] = set()
        for run in self._runs():
            previous: _Mention | None = None
            for segment in self._segments(run):
                mention = self._mention(segment)
                if mention is None:
                    previous = None
                    continue
                if previous is not None and _variant(previous.core, mention.core):
                    repeats.add(mention.first)
                mentions.append(mention)
                previous = mention
        _trim_headings(mentions)
        return mentions, repeats

    def _segments(self, run: list[int]) -> list[list[int]]:
        """Cut a run where one name ends and another begins: after a legal suffix, before
        a legal prefix, and where the run starts over after a company word ("Mekong Metals
        Import Export Mekong Metals is ...")."""
        tokens = self.tokens
        segments: list[list[int]] = []
        current: list[int] = []
        for i in run:
            token = tokens[i]
            if current:
                prev = tokens[current[-1]]
                head = next((tokens[j].key for j in current if tokens[j].key not in _STARTERS), "")
                cut = (
                    (token.key in LEGAL_PREFIXES and token.capital)
                    or (
                        prev.key in LEGAL_SUFFIXES
                        and token.key not in LEGAL_FORMS
                        and token.key not in _LEGAL_WORDS
                        and token.text != ","
                    )
                    or (prev.key in COMPANY_WORDS and token.key == head)
                )
                if cut:
                    segments.append(current)
                    current = []
            current.append(i)
        if current:
            segments.append(current)
        return segments

    def _mention(self, segment: list[int]) -> _Mention | None:
        tokens = self.tokens
        kept = list(segment)
        while kept and (tokens[kept[0]].key in _STARTERS or not tokens[kept[0]].capital):
            kept.pop(0)
        while kept and not tokens[kept[-1]].capital:
            kept.pop()
        if not kept:
            return None
        first, last = tokens[kept[0]].key, tokens[kept[-1]].key
        if not (
            last in LEGAL_SUFFIXES
            or last in COMPANY_WORDS
            or (first in LEGAL_PREFIXES and len(kept) > 1)
        ):
            return None
        core: list[str] = []
        owners: list[int] = []
        for i in kept:
            for part in words(tokens[i].text):
                if part not in LEGAL_FORMS:
                    core.append(part)
                    owners.append(i)
        generic = LEGAL_FORMS | COMPANY_WORDS | _LEGAL_WORDS | _JOINERS | _STARTERS
        if not any(part not in generic for part in core):
            return None  # "Steel", "Import", "Trading Co.": no name in it
        return _Mention(kept[0], kept[-1], tuple(core), tuple(owners))

    def spell(self, mention: _Mention) -> str:
        """The mention as written, minus a sentence's full stop (a legal form's stays)."""
        start, end = self.tokens[mention.first].start, self.tokens[mention.last].end
        spelled = " ".join(self.text[start:end].split())
        last = self.tokens[mention.last]
        abbreviated = last.key in _ABBREVIATED_FORMS or "." in last.text[:-1]  # "S.A."
        if spelled.endswith(".") and not abbreviated:
            spelled = spelled[:-1]
        return spelled

    def find(self, phrase: Sequence[str]) -> list[tuple[int, int]]:
        """Token spans where the folded phrase occurs."""
        flat: list[str] = []
        owner: list[int] = []
        for i, token in enumerate(self.tokens):
            parts = words(token.text)
            flat.extend(parts)
            owner.extend([i] * len(parts))
        return [(owner[s], owner[s + len(phrase) - 1]) for s in find_phrase(flat, phrase)]

    # -- sentences and passages ----------------------------------------------------------

    def _sentences(self, repeats: set[int], mentions: list[_Mention]) -> list[tuple[int, int]]:
        tokens = self.tokens
        starts = {0} | repeats
        for i in range(len(tokens) - 1):
            a, b = tokens[i], tokens[i + 1]
            if a.block != b.block or _ends_sentence(a, b):
                starts.add(i + 1)
        # A mention never spans two sentences ("S.A. Ltd." aside, abbreviations end none).
        inside = {i for m in mentions for i in range(m.first + 1, m.last + 1)}
        ordered = sorted(s for s in starts if s not in inside and s < len(tokens))
        return [
            (start, (ordered[n + 1] if n + 1 < len(ordered) else len(tokens)) - 1)
            for n, start in enumerate(ordered)
        ]

    def _sentence_text(self, s: int) -> str:
        first, last = self.sentences[s]
        return " ".join(self.text[self.tokens[first].start : self.tokens[last].end].split())

    def _heading_only(self, s: int) -> bool:
        """A sentence of names and capitalised words only: a flattened heading."""
        first, last = self.sentences[s]
        return not any(
            self.tokens[i].lower and i not in self.covered for i in range(first, last + 1)
        )

    def passage(self, own: set[int], itself: set[int]) -> Passage:
        """The sentences that name it, each followed by those that go on about it: up to
        a sentence naming another organisation, or a heading that does not name it."""
        kept: list[int] = []
        active = False
        for s, (first, _) in enumerate(self.sentences):
            if s in own:
                active = True
            elif self.mentioned[s] - itself or self.tokens[first].heading:
                active = False
            if active:
                kept.append(s)
        # A flattened heading only repeats the name; it stays when the rest never names it.
        body = [s for s in kept if not self._heading_only(s)]
        if not own & set(body):
            body = kept
        snippet = " ".join(self._sentence_text(s) for s in body)
        return Passage(snippet, website(" ".join(self._sentence_text(s) for s in kept)))


def website(text: str) -> str | None:
    """The first `Website: <domain>` of a text, as https://<host>."""
    for match in _WEBSITE.finditer(text):
        hostname = host(match.group(1).rstrip(".,;:)"))
        if hostname:
            return f"https://{hostname}"
    return None


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for block, (start, end, heading) in enumerate(_blocks(text)):
        for match in _TOKEN.finditer(text, start, end):
            word = match.group()
            key = fold(word).replace(".", "")
            tokens.append(_Token(word, match.start(), match.end(), block, heading, key))
    return tokens


def _blocks(text: str) -> list[tuple[int, int, bool]]:
    """Paragraphs (split at blank lines) and markdown heading lines, as character spans;
    a heading's span starts after its #s."""
    blocks: list[tuple[int, int, bool]] = []
    start: int | None = None
    pos = 0
    for line in text.splitlines(keepends=True):
        end = pos + len(line)
        heading = _HEADING.match(line)
        if not line.strip() or heading:
            if start is not None:
                blocks.append((start, pos, False))
                start = None
            if heading:
                blocks.append((pos + heading.end(), end, True))
        elif start is None:
            start = pos
        pos = end
    if start is not None:
        blocks.append((start, pos, False))
    return blocks


def _ends_sentence(a: _Token, b: _Token) -> bool:
    if b.lower:
        return False  # "Acme Ltd. shipped", "3.1 and"
    if a.text in _SENTENCE_MARKS:
        return True
    if not a.text.endswith(".") or len(a.text) == 1:
        return False
    if a.key in _ABBREVIATIONS or (len(a.key) == 1 and a.capital):  # "Mr.", "J."
        return False
    return not (a.key in LEGAL_FORMS and (b.key in LEGAL_FORMS or b.text == ","))


def _variant(a: Sequence[str], b: Sequence[str]) -> bool:
    """Do two names name one organisation: the same words (spaces aside), one the other
    plus company words ("Mekong Metals" / "Mekong Metals Import Export"), or one the
    other's tail after a heading glued in front ("Vietnam Saigon Coil Trading")?"""
    if not a or not b:
        return False
    if "".join(a) == "".join(b):
        return True
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    n = len(short)
    if tuple(long_[:n]) == tuple(short):
        return all(p in COMPANY_WORDS or p in _LEGAL_WORDS for p in long_[n:])
    return tuple(long_[-n:]) == tuple(short)


def _trim_headings(mentions: list[_Mention]) -> None:
    """ "Vietnam Saigon Coil Trading Co., Ltd." becomes "Saigon Coil Trading Co., Ltd."
    when the text also names "Saigon Coil Trading": the leading words were a heading."""
    cores = {m.core for m in mentions}
    for m in mentions:
        tails = [c for c in cores if len(c) < len(m.core) and m.core[-len(c) :] == c]
        if not tails:
            continue
        cut = len(m.core) - len(max(tails, key=len))
        first = m.owners[cut]
        if m.owners[cut - 1] == first:
            continue  # the tail starts inside a word ("Hai-Phong"): not a heading
        m.first, m.core, m.owners = first, m.core[cut:], m.owners[cut:]


def _group(mentions: Iterable[_Mention]) -> dict[int, list[_Mention]]:
    """Mentions by organisation (union-find over variant names), keyed by the index of
    the first mention, in first-mention order."""
    found = sorted(mentions, key=lambda m: m.first)
    parent = list(range(len(found)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(found)):
        for j in range(i + 1, len(found)):
            if root(i) != root(j) and _variant(found[i].core, found[j].core):
                parent[max(root(i), root(j))] = min(root(i), root(j))
    groups: dict[int, list[_Mention]] = {}
    for i, m in enumerate(found):
        groups.setdefault(root(i), []).append(m)
    return groups
