"""Exact nearest-neighbour search over L2-normalised vectors.

MongoDB without Atlas has no `$vectorSearch`, so search is exact: one matrix product
per query, fine up to a few hundred thousand chunks per tenant. `VectorIndex` is the
seam for an ANN index (HNSW) or Atlas Vector Search later."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: str
    score: float


class VectorIndex(Protocol):
    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None: ...
    def remove(self, ids: Sequence[str]) -> None: ...
    def search(self, query: np.ndarray, k: int) -> list[Hit]: ...
    def __len__(self) -> int: ...


def top_k(query: np.ndarray, matrix: np.ndarray, ids: Sequence[str], k: int) -> list[Hit]:
    """The k rows most similar to `query` (cosine on normalised rows), best first;
    equal scores are ordered by id so results are deterministic."""
    n = len(ids)
    if n == 0 or k <= 0:
        return []
    scores = matrix[:n] @ np.asarray(query, dtype=np.float32).reshape(-1)
    k = min(k, n)
    candidates = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
    ranked = sorted(candidates.tolist(), key=lambda i: (-float(scores[i]), ids[i]))
    return [Hit(ids[i], float(scores[i])) for i in ranked]


class ExactIndex:
    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._matrix = np.zeros((0, dimensions), dtype=np.float32)
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Adding an id again replaces its vector; it is never duplicated."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dimensions)
        for cid, vector in zip(ids, vectors, strict=True):
            row = self._rows.get(cid)
            if row is None:
                row = len(self._ids)
                self._grow(row + 1)
                self._ids.append(cid)
                self._rows[cid] = row
            self._matrix[row] = vector

    def remove(self, ids: Sequence[str]) -> None:
        for cid in ids:
            row = self._rows.pop(cid, None)
            if row is None:
                continue
            last = len(self._ids) - 1
            if row != last:  # move the last row into the hole
                moved = self._ids[last]
                self._matrix[row] = self._matrix[last]
                self._ids[row] = moved
                self._rows[moved] = row
            self._ids.pop()

    def search(self, query: np.ndarray, k: int) -> list[Hit]:
        return top_k(query, self._matrix, self._ids, k)

    def _grow(self, needed: int) -> None:
        if needed <= self._matrix.shape[0]:
            return
        capacity = max(needed, 2 * self._matrix.shape[0], 64)  # amortised doubling
        grown = np.zeros((capacity, self.dimensions), dtype=np.float32)
        grown[: len(self._ids)] = self._matrix[: len(self._ids)]
        self._matrix = grown
