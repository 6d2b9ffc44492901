"""Each HTTP provider against the fault server's imitation of its API."""

from __future__ import annotations

import pytest

from tests.support.fault_server import FaultServer, running_fault_server
from tradebus_knowledge import HashingEmbedder, OpenAIEmbedder
from tradebus_providers import (
    ChatMessage,
    HttpReranker,
    HttpSearchProvider,
    MalformedResponse,
    OpenAIChat,
)

pytestmark = pytest.mark.integration

CONTEXT = (
    "Answer from the numbered context only and cite it.\n"
    "[1] FCA Rotterdam: the seller delivers to the buyer's carrier.\n"
    "[2] Under DDP the seller pays import duties and VAT. Sellers register for VAT first."
)


async def test_chat_completion(fault_server: FaultServer, make_downstream) -> None:
    chat = OpenAIChat(
        make_downstream("llm"), base_url=fault_server.url, api_key="sk-test", model="fake-1"
    )
    reply = await chat.complete(
        [ChatMessage("system", CONTEXT), ChatMessage("user", "Who pays import duties?")],
        timeout=5,
    )
    assert reply == "Under DDP the seller pays import duties and VAT. [2]"
    stats = await fault_server.stats("chat")
    assert stats["requests"] == 1 and stats["statuses"] == {"200": 1}
    await chat.aclose()


async def test_rerank(fault_server: FaultServer, make_downstream) -> None:
    reranker = HttpReranker(
        make_downstream("rerank"), base_url=fault_server.url, api_key=None, model="fake-rr"
    )
    texts = [
        "Invoices are issued in EUR or USD.",
        "Letters of credit must be issued under UCP 600.",
        "A confirmed letter of credit is required for high country risk.",
    ]
    ranking = await reranker.rerank("confirmed letter of credit", texts, top_n=2)
    assert [i for i, _ in ranking] == [2, 1]
    assert ranking[0][1] == 1.0 and 0 < ranking[1][1] < 1.0
    await reranker.aclose()


async def test_search_generated_results(fault_server: FaultServer, make_downstream) -> None:
    provider = HttpSearchProvider(
        "acme", make_downstream("search"), base_url=f"{fault_server.url}/engines/acme"
    )
    results = await provider.search("solar inverter", limit=5, tenant_id="t1", timeout=5)
    assert len(results) == 5
    assert all("solar-inverter" in (r.url or "") and r.provider == "acme" for r in results)
    scores = [r.score for r in results]
    assert scores[0] == 1.0 and scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert (await fault_server.stats("search:acme"))["requests"] == 1
    await provider.aclose()


async def test_engines_overlap_but_differ(fault_server: FaultServer, make_downstream) -> None:
    urls = {}
    for engine in ("acme", "globex"):
        provider = HttpSearchProvider(
            engine, make_downstream(engine), base_url=f"{fault_server.url}/engines/{engine}"
        )
        urls[engine] = {r.url for r in await provider.search("valves", limit=10, tenant_id="t")}
        await provider.aclose()
    assert urls["acme"] != urls["globex"] and urls["acme"] & urls["globex"]


async def test_search_a_loaded_corpus(fault_server: FaultServer, make_downstream) -> None:
    await fault_server.load_corpus(
        [
            {"title": "Kenya Solar Ltd", "url": "https://kenya-solar.example.com", "content": "x"},
            {"title": "Valve Works", "url": "https://valves.example.com", "content": "valves"},
            {"title": "Sun Parts", "url": "https://sun.example.com", "content": "solar parts"},
        ],
        engine="acme",
    )
    provider = HttpSearchProvider(
        "acme", make_downstream("search"), base_url=f"{fault_server.url}/engines/acme"
    )
    results = await provider.search("solar", limit=10, tenant_id="t")
    assert [(r.title, r.score) for r in results] == [("Kenya Solar Ltd", 1.0), ("Sun Parts", 0.5)]
    await provider.aclose()


async def test_embeddings_match_the_hashing_embedder() -> None:
    async with running_fault_server(embedding_dimensions=64) as server:
        embedder = OpenAIEmbedder(server.url, api_key="k", model="fake-embed", dimensions=64)
        texts = ["letter of credit", "sanctions screening"]
        vectors = await embedder.embed(texts)
        await embedder.aclose()
    expected = HashingEmbedder(64).embed_sync(texts)
    assert vectors.shape == (2, 64) and abs(vectors - expected).max() < 1e-6


async def test_a_malformed_body_is_refused_once(fault_server: FaultServer, make_downstream) -> None:
    await fault_server.set_faults(route="chat", malformed=True)
    chat = OpenAIChat(make_downstream("llm"), base_url=fault_server.url, api_key=None, model="m")
    with pytest.raises(MalformedResponse):
        await chat.complete([ChatMessage("user", "hello")])
    assert (await fault_server.stats("chat"))["requests"] == 1
    await chat.aclose()
