"""Sentences and terms for the extractive answerer and summariser.

Passages arrive either as parsed documents (paragraphs, list items, hard-wrapped
lines) or as stored chunks (one line, single-spaced), so sentence boundaries come
from punctuation (English, and Chinese through `cut_cjk_sentences`), blank lines and
list markers, never from a bare line break."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from tradebus_knowledge import cut_cjk_sentences, has_cjk, terms
from tradebus_knowledge.segmentation import CJK_CHARS

# Function words, plus the words that frame a question rather than carry its topic.
_STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be because been before
    being between both but by can could did do does doing done during each either else
    for from further had has have having he her here hers him his how i if in into is it
    its itself just me more most my no nor not of off on once only or other our ours out
    over own please same she should so some such tell than that the their theirs them
    then there these they this those through to too under until up us very was we were
    what when where which while who whom whose why will with would you your yours
    mean means meaning explain describe define definition know say says said""".split()  # noqa: SIM905
) | frozenset(
    # Chinese question framing and particles, as the characters and bigrams `terms`
    # makes of them.
    """什么 是什 么是 多少 少是 是多 怎么 怎样 如何 哪些 哪个 哪里 是否 请问 为什
    为何 何时 是谁 有哪 我们 你们 是的 一下 可以 能否 应该 需要
    的 了 吗 呢 么 什 哪 是 吧 啊 怎 呀""".split()  # noqa: SIM905
)
_BLOCK_START = re.compile(r"^\s*(#{1,6}\s|[-*+•]\s|\d{1,3}[.)]\s|>)")
_MARKUP = re.compile(r"^\s*(#{1,6}\s+|[-*+•]\s+|\d{1,3}[.)]\s+|>\s*)|\*\*|__|`")
_RULE = re.compile(r"^[\s|:\-=*_]*$")
# Typographic quotes written as escapes: \u201c\u2018 open, \u201d\u2019 close.
_BOUNDARY = re.compile(
    "(?<=[.!?])\\s+(?=[\"'\u201c\u2018(\\[]?[A-Z0-9])"
    "|(?<=[.!?][\"'\u201d\u2019)\\]])\\s+"
    f"|(?<=[.!?])\\s+(?=[{CJK_CHARS}])"  # an English sentence followed by a Chinese one
)
_ABBREVIATIONS = frozenset(
    ("e.g.", "i.e.", "vs.", "no.", "nr.", "mr.", "mrs.", "ms.", "dr.", "inc.", "ltd.", "co.",
     "corp.", "art.", "para.", "fig.", "approx.", "st.", "u.s.", "u.k.", "ref.", "cf.", "dept.")
)  # fmt: skip


def stem(term: str) -> str:
    """Fold plurals only: cheap, and safe for trade vocabulary (terms, duties, letters)."""
    if len(term) > 4 and term.endswith("ies"):
        return term[:-3] + "y"
    if len(term) > 4 and term.endswith(("sses", "xes", "ches", "shes")):
        return term[:-2]
    if len(term) > 3 and term.endswith("s") and not term.endswith(("ss", "us", "is")):
        return term[:-1]
    return term


def content_terms(text: str) -> list[str]:
    # A single CJK character is a word (or part of one); a single Latin letter is not.
    return [
        stem(t)
        for t in terms(text)
        if t not in _STOPWORDS and (len(t) > 1 or t.isdigit() or has_cjk(t))
    ]


def _blocks(text: str) -> Iterable[str]:
    """Paragraphs, with list items and headings as blocks of their own."""
    for paragraph in re.split(r"\n\s*\n", text):
        current: list[str] = []
        for line in paragraph.splitlines():
            if _RULE.match(line):
                continue
            if current and _BLOCK_START.match(line):
                yield " ".join(current)
                current = []
            current.append(_MARKUP.sub("", line.replace("|", " ")).strip())
        if current:
            yield " ".join(current)


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for block in _blocks(text):
        block = " ".join(block.split())
        pending = ""
        pieces = (p for part in _BOUNDARY.split(block) for p in cut_cjk_sentences(part))
        for piece in pieces:
            if not piece:
                continue
            pending = f"{pending} {piece}" if pending else piece
            last = pending.rsplit(" ", 1)[-1].lower()
            if last in _ABBREVIATIONS or re.fullmatch(r"[a-z]\.", last):
                continue  # "e.g. The" or an initial: not the end of a sentence
            sentences.append(pending)
            pending = ""
        if pending:
            sentences.append(pending)
    return sentences


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(count * b.get(term, 0) for term, count in a.items())
    if not dot:
        return 0.0
    norm = math.sqrt(sum(c * c for c in a.values())) * math.sqrt(sum(c * c for c in b.values()))
    return dot / norm
