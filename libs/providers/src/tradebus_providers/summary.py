"""Extractive summary for folding a long conversation into its gist: the sentences
closest to the centroid of the whole text (TF-IDF), near-duplicates skipped, in their
original order, within a token budget."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from tradebus_knowledge import count_tokens, truncate_to_tokens

from ._text import content_terms, cosine, split_sentences

_DUPLICATE = 0.8
_INFORMATIVE_TERMS = 3


def summarize(texts: Sequence[str], *, max_tokens: int) -> str:
    sentences = [s for text in texts for s in split_sentences(text)]
    if max_tokens <= 0 or not sentences:
        return ""
    costs = [count_tokens(s) for s in sentences]
    if sum(costs) <= max_tokens:
        return " ".join(sentences)
    counts = [Counter(content_terms(s)) for s in sentences]
    vectors = _tfidf(counts)
    centroid: dict[str, float] = {}
    for vector in vectors:
        for term, weight in vector.items():
            centroid[term] = centroid.get(term, 0.0) + weight
    scores = [cosine(v, centroid) for v in vectors]
    # Short turns ("Thanks.", "Yes.") say nothing but would fill any leftover budget.
    informative = [i for i, c in enumerate(counts) if len(c) >= _INFORMATIVE_TERMS]
    ranked = sorted(informative or range(len(sentences)), key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    budget = max_tokens
    for i in ranked:
        if costs[i] > budget or any(cosine(vectors[i], vectors[j]) >= _DUPLICATE for j in chosen):
            continue
        chosen.append(i)
        budget -= costs[i]
    if not chosen:  # every sentence is longer than the budget: cut the most central one
        return truncate_to_tokens(sentences[ranked[0]], max_tokens)
    return " ".join(sentences[i] for i in sorted(chosen))


def _tfidf(counts: list[Counter[str]]) -> list[dict[str, float]]:
    n = len(counts)
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    vectors = []
    for c in counts:
        raw = {t: (1 + math.log(f)) * (math.log((1 + n) / (1 + df[t])) + 1) for t, f in c.items()}
        norm = math.sqrt(sum(v * v for v in raw.values())) or 1.0
        vectors.append({t: v / norm for t, v in raw.items()})
    return vectors
