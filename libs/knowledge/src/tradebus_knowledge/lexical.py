"""Okapi BM25: the offline reranker, and a lexical signal that needs no model. Terms come
from `segmentation.terms` (CJK runs as characters plus bigrams), or any analyzer given."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

from .segmentation import terms

Analyzer = Callable[[str], list[str]]


class BM25:
    def __init__(
        self,
        docs: Sequence[str],
        *,
        k1: float = 1.5,
        b: float = 0.75,
        analyzer: Analyzer = terms,
    ) -> None:
        self._k1, self._b = k1, b
        self._analyzer = analyzer
        self._docs = [Counter(analyzer(d)) for d in docs]
        self._lengths = [sum(c.values()) for c in self._docs]
        self._avg = (sum(self._lengths) / len(self._lengths)) if self._lengths else 0.0
        df: Counter[str] = Counter()
        for counts in self._docs:
            df.update(counts.keys())
        n = len(self._docs)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: str) -> list[float]:
        wanted = set(self._analyzer(query))
        out: list[float] = []
        for counts, length in zip(self._docs, self._lengths, strict=True):
            norm = self._k1 * (1 - self._b + self._b * length / (self._avg or 1.0))
            score = 0.0
            for term in wanted:
                tf = counts.get(term, 0)
                if tf:
                    score += self._idf[term] * tf * (self._k1 + 1) / (tf + norm)
            out.append(score)
        return out


def bm25_rerank(
    query: str, texts: Sequence[str], *, analyzer: Analyzer = terms
) -> list[tuple[int, float]]:
    """Indices of `texts` by descending BM25 score (stable for ties)."""
    scores = BM25(texts, analyzer=analyzer).scores(query)
    return sorted(enumerate(scores), key=lambda pair: (-pair[1], pair[0]))
