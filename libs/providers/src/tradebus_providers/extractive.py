"""The offline answerer: the passages' own sentences that best answer the question,
with citations. It is also what dealbrain falls back to when the LLM is degraded, so
it must never invent text and must say plainly when the passages do not answer.

Sentences are scored by BM25 of the question's content terms (plural-folded, stop
words dropped), blended with their passage's retrieval score; picked greedily with an
MMR redundancy penalty (chunk overlap repeats sentences across passages); and printed
grouped by passage, best passage first, each group in document order."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tradebus_knowledge import BM25, terms

from ._text import content_terms, cosine, split_sentences
from .summary import summarize
from .types import Answer, Passage

NO_ANSWER = "The available documents do not answer this question."
_END = re.compile(
    "^(.*?)([.!?;\u3002\uff01\uff1f\uff1b\u2026]+[\"'\u201d\u2019\u300d\u300f)\\]]*)$", re.DOTALL
)


@dataclass(frozen=True, slots=True)
class _Sentence:
    passage: int
    position: int
    text: str
    terms: Counter[str]


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(
        self,
        *,
        passage_weight: float = 0.25,
        redundancy: float = 0.5,
        duplicate_similarity: float = 0.8,
        min_coverage: float = 0.3,
        min_relative: float = 0.35,
        no_answer: str = NO_ANSWER,
    ) -> None:
        self._passage_weight = passage_weight
        self._redundancy = redundancy
        self._duplicate = duplicate_similarity
        self._min_coverage = min_coverage  # of the question's idf mass the passages must hold
        self._min_relative = min_relative  # of the best sentence's relevance, to be kept
        self._no_answer = no_answer

    def answer(
        self, question: str, passages: Sequence[Passage], *, max_sentences: int = 4
    ) -> Answer:
        wanted = set(content_terms(question))
        sentences = _unique_sentences(passages)
        if not wanted or not sentences or max_sentences < 1:
            return Answer(self._no_answer)
        if _coverage(wanted, sentences) < self._min_coverage:
            return Answer(self._no_answer)
        lexical = BM25([" ".join(s.terms.elements()) for s in sentences]).scores(" ".join(wanted))
        relevance = self._relevance(lexical, sentences, passages)
        chosen = self._select(sentences, relevance, max_sentences)
        if not chosen:
            return Answer(self._no_answer)
        return _compose([sentences[i] for i in chosen], [relevance[i] for i in chosen])

    def summarize(self, texts: Sequence[str], *, max_tokens: int) -> str:
        return summarize(texts, max_tokens=max_tokens)

    def _relevance(
        self, lexical: list[float], sentences: list[_Sentence], passages: Sequence[Passage]
    ) -> list[float]:
        top = max(lexical)
        if top <= 0:
            return [0.0] * len(sentences)
        low = min(p.score for p in passages)
        span = max(p.score for p in passages) - low
        w = self._passage_weight
        # Multiplicative: a well-retrieved passage lifts its matching sentences but cannot
        # carry a sentence that barely matches the question.
        return [
            score / top * (1 - w + w * ((passages[s.passage].score - low) / span if span else 1.0))
            for score, s in zip(lexical, sentences, strict=True)
        ]

    def _select(self, sentences: list[_Sentence], relevance: list[float], limit: int) -> list[int]:
        pool = [i for i, r in enumerate(relevance) if r > 0 and len(terms(sentences[i].text)) >= 3]
        if not pool:
            return []
        floor = self._min_relative * max(relevance[i] for i in pool)
        chosen: list[int] = []

        def overlap(i: int) -> float:
            return max(
                (cosine(sentences[i].terms, sentences[j].terms) for j in chosen), default=0.0
            )

        while pool and len(chosen) < limit:
            best = max(pool, key=lambda i: (relevance[i] - self._redundancy * overlap(i), -i))
            pool.remove(best)
            similar = overlap(best)
            if similar < self._duplicate and relevance[best] - self._redundancy * similar >= floor:
                chosen.append(best)
        return chosen


def _unique_sentences(passages: Sequence[Passage]) -> list[_Sentence]:
    """Each distinct sentence once, kept in the passage that retrieval scored highest."""
    out: list[_Sentence] = []
    seen: dict[str, int] = {}
    for index, passage in enumerate(passages):
        for position, text in enumerate(split_sentences(passage.text)):
            counts = Counter(content_terms(text))
            if not counts or (position == 0 and text[0].islower()):
                continue  # the tail of a sentence cut by chunk overlap: not quotable
            key = " ".join(terms(text))
            if key in seen:
                kept = out[seen[key]]
                if passage.score > passages[kept.passage].score:
                    out[seen[key]] = _Sentence(index, position, text, counts)
                continue
            seen[key] = len(out)
            out.append(_Sentence(index, position, text, counts))
    return out


def _coverage(wanted: set[str], sentences: list[_Sentence]) -> float:
    """Share of the question's idf mass that appears anywhere in the passages; terms the
    passages never mention weigh most, so an off-topic question scores near zero."""
    n = len(sentences)
    df = {t: sum(1 for s in sentences if t in s.terms) for t in wanted}
    idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
    return sum(idf[t] for t in wanted if df[t]) / sum(idf.values())


def _compose(chosen: list[_Sentence], relevance: list[float]) -> Answer:
    best: dict[int, float] = {}
    for s, r in zip(chosen, relevance, strict=True):
        best[s.passage] = max(best.get(s.passage, 0.0), r)
    ordered = sorted(chosen, key=lambda s: (-best[s.passage], s.passage, s.position))
    cited = list(dict.fromkeys(s.passage for s in ordered))
    return Answer(" ".join(_cite(s.text, s.passage + 1) for s in ordered), cited)


def _cite(sentence: str, number: int) -> str:
    match = _END.match(sentence)
    if match:
        return f"{match[1]} [{number}]{match[2]}"
    return f"{sentence} [{number}]"
