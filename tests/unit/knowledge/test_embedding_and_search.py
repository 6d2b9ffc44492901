import httpx
import numpy as np
import pytest

from tradebus_knowledge import (
    BM25,
    EmbeddingProviderError,
    EmbeddingSettings,
    ExactIndex,
    HashingEmbedder,
    OpenAIEmbedder,
    bm25_rerank,
    build_embedder,
    top_k,
)


async def test_hashing_embedder_is_normalised_deterministic_and_semantic_enough() -> None:
    embedder = HashingEmbedder(256)
    texts = [
        "letter of credit confirmed by the bank",
        "the bank confirmed the letter of credit",
        "sanctions screening of supplier directors",
    ]
    vectors = await embedder.embed(texts)
    assert vectors.shape == (3, 256) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, await HashingEmbedder(256).embed(texts))
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_settings_choose_the_provider(monkeypatch) -> None:
    monkeypatch.setenv("TRADEBUS_EMBED_DIMENSIONS", "64")
    assert build_embedder(EmbeddingSettings()).name == "hashing-64"
    monkeypatch.setenv("TRADEBUS_EMBED_PROVIDER", "openai")
    assert isinstance(build_embedder(EmbeddingSettings()), OpenAIEmbedder)


def openai_server(status: int = 200, dims: int = 3, count: int | None = None):
    def handle(request: httpx.Request) -> httpx.Response:
        body = __import__("json").loads(request.content)
        assert request.url.path == "/v1/embeddings" and body["model"] == "m"
        if status != 200:
            return httpx.Response(status, json={"error": {"message": "nope"}})
        n = len(body["input"]) if count is None else count
        data = [{"index": i, "embedding": [float(i + 1)] + [0.0] * (dims - 1)} for i in range(n)]
        return httpx.Response(200, json={"data": list(reversed(data))})

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


async def test_openai_embedder_orders_by_index_and_normalises() -> None:
    embedder = OpenAIEmbedder(
        "http://x", api_key="k", model="m", dimensions=3, client=openai_server()
    )
    vectors = await embedder.embed(["a", "b"])
    assert vectors.tolist() == [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]


@pytest.mark.parametrize(("status", "retryable"), [(429, True), (503, True), (400, False)])
async def test_openai_embedder_errors_say_whether_to_retry(status, retryable) -> None:
    embedder = OpenAIEmbedder(
        "http://x", api_key=None, model="m", dimensions=3, client=openai_server(status)
    )
    with pytest.raises(EmbeddingProviderError) as info:
        await embedder.embed(["a"])
    assert info.value.retryable is retryable and info.value.status == status


async def test_openai_embedder_rejects_wrong_shapes() -> None:
    wrong_dims = OpenAIEmbedder(
        "http://x", api_key=None, model="m", dimensions=4, client=openai_server(dims=3)
    )
    with pytest.raises(EmbeddingProviderError, match="dimension"):
        await wrong_dims.embed(["a"])
    wrong_count = OpenAIEmbedder(
        "http://x", api_key=None, model="m", dimensions=3, client=openai_server(count=1)
    )
    with pytest.raises(EmbeddingProviderError, match="1 embeddings for 2 inputs"):
        await wrong_count.embed(["a", "b"])


def test_top_k_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    matrix = rng.normal(size=(500, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = [f"c{i:03d}" for i in range(500)]
    query = matrix[42]
    hits = top_k(query, matrix, ids, 10)
    expected = np.argsort(-(matrix @ query))[:10]
    assert [h.chunk_id for h in hits] == [ids[i] for i in expected]
    assert hits[0].chunk_id == "c042" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert top_k(query, matrix, ids, 0) == [] and len(top_k(query, matrix, ids, 900)) == 500


def test_exact_index_replaces_and_removes_without_duplicates() -> None:
    index = ExactIndex(2)
    index.add(["a", "b", "c"], np.array([[1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32))
    index.add(["a"], np.array([[0, 1]], dtype=np.float32))  # replaced, not duplicated
    assert len(index) == 3
    assert [h.chunk_id for h in index.search(np.array([0, 1]), 2)] == ["a", "b"]
    index.remove(["a", "missing"])
    assert len(index) == 2
    assert [h.chunk_id for h in index.search(np.array([1, 0]), 5)] == ["c", "b"]
    assert ExactIndex(2).search(np.array([1, 0]), 3) == []
    for i in range(200):  # growth past the initial capacity
        index.add([f"x{i}"], np.array([[1, 0]], dtype=np.float32))
    assert len(index) == 202


def test_bm25_ranks_the_matching_document_first() -> None:
    docs = [
        "sanctions screening of directors",
        "letter of credit presentation period of 21 days",
        "letter of intent",
    ]
    ranked = bm25_rerank("credit presentation period", docs)
    assert ranked[0][0] == 1 and ranked[0][1] > ranked[1][1]
    assert BM25(docs).scores("unrelated words") == [0.0, 0.0, 0.0]
