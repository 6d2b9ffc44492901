"""The recall patrol's arithmetic: a deterministic sample, where a target ranked, and
recall@k and MRR over a run. Pure."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass


def sample(population: Sequence[str], n: int, *, seed: str) -> list[str]:
    """`n` ids of `population` (all of them if fewer), the same for the same seed and
    population whatever order the population was read in."""
    ordered = sorted(set(population))
    if n >= len(ordered):
        return ordered
    return random.Random(seed).sample(ordered, n)  # a str seed is hashed stably


@dataclass(frozen=True, slots=True)
class Target:
    chunk_id: str
    content_hash: str


def rank_of(target: Target, retrieved: Sequence[tuple[str, str]]) -> int | None:
    """1-based rank of the target among `(chunk id, content hash)` pairs, best first;
    a chunk with the target's content (the same text under another id) counts too."""
    for rank, (chunk_id, content_hash) in enumerate(retrieved, 1):
        if chunk_id == target.chunk_id or content_hash == target.content_hash:
            return rank
    return None


@dataclass(frozen=True, slots=True)
class RecallScore:
    k: int
    samples: int
    found: int  # targets ranked within k
    recall_at_k: float
    mrr: float


def score(ranks: Sequence[int | None], k: int) -> RecallScore:
    """recall@k: the share of targets ranked within k. MRR: the mean of 1/rank over all
    targets, 0 for a target not retrieved at all. No samples: both 0."""
    if k < 1:
        raise ValueError("k must be at least 1")
    n = len(ranks)
    found = sum(1 for r in ranks if r is not None and r <= k)
    reciprocal = sum(1.0 / r for r in ranks if r is not None)
    return RecallScore(
        k=k,
        samples=n,
        found=found,
        recall_at_k=found / n if n else 0.0,
        mrr=reciprocal / n if n else 0.0,
    )
