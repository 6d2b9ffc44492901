"""The HTTP providers' request and response handling, against httpx.MockTransport.
(tests/integration/providers drives the same classes against the fault server.)"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tradebus_providers import (
    BM25Reranker,
    ChatMessage,
    HttpReranker,
    HttpSearchProvider,
    MalformedResponse,
    OpenAIChat,
)
from tradebus_resilience import Downstream, DownstreamHTTPError, DownstreamSettings, State


class Recorder:
    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses[min(len(self.requests), len(self.responses)) - 1]

    @property
    def body(self) -> Any:
        return json.loads(self.requests[-1].content)


def downstream(name: str) -> Downstream:
    settings = DownstreamSettings.model_validate(
        {"max_attempts": 3, "backoff_base_seconds": 0.001, "breaker_failure_threshold": 3}
    )
    return Downstream(name, settings)


def completion(content: Any) -> httpx.Response:
    return httpx.Response(200, json={"choices": [{"message": {"content": content}}]})


def chat(recorder: Recorder, unique: str, api_key: str | None = "sk-test") -> OpenAIChat:
    return OpenAIChat(
        downstream(f"llm-{unique}"),
        base_url="http://llm.local/",
        api_key=api_key,
        model="m-1",
        transport=httpx.MockTransport(recorder),
    )


async def test_chat_sends_the_openai_request_and_returns_the_content(unique: str) -> None:
    recorder = Recorder(completion("  FCA Rotterdam [1].  "))
    model = chat(recorder, unique)
    messages = [ChatMessage("system", "Context: [1] ..."), ChatMessage("user", "Which term?")]
    assert await model.complete(messages, max_tokens=64) == "FCA Rotterdam [1]."
    request = recorder.requests[0]
    assert request.method == "POST" and str(request.url) == "http://llm.local/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert recorder.body == {
        "model": "m-1",
        "messages": [
            {"role": "system", "content": "Context: [1] ..."},
            {"role": "user", "content": "Which term?"},
        ],
        "max_tokens": 64,
        "temperature": 0,
    }
    assert model.name == "openai:m-1"


async def test_chat_without_a_key_sends_no_authorization(unique: str) -> None:
    recorder = Recorder(completion("ok"))
    await chat(recorder, unique, api_key=None).complete([ChatMessage("user", "hi")])
    assert "authorization" not in recorder.requests[0].headers


async def test_chat_retries_a_rate_limit(unique: str) -> None:
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "0"}), completion("ok"))
    assert await chat(recorder, unique).complete([ChatMessage("user", "hi")]) == "ok"
    assert len(recorder.requests) == 2


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>proxy error</html>"),
        httpx.Response(200, json={"choices": []}),
        httpx.Response(200, json={"error": "overloaded"}),
        completion(None),
        completion("   "),
    ],
    ids=["not-json", "no-choices", "no-choices-key", "null-content", "blank"],
)
async def test_chat_refuses_a_malformed_answer_without_retrying(
    response: httpx.Response, unique: str
) -> None:
    recorder = Recorder(response)
    with pytest.raises(MalformedResponse):
        await chat(recorder, unique).complete([ChatMessage("user", "hi")])
    assert len(recorder.requests) == 1


async def test_chat_client_errors_surface_as_http_errors(unique: str) -> None:
    recorder = Recorder(httpx.Response(401, json={"error": {"message": "bad key"}}))
    model = chat(recorder, unique)
    with pytest.raises(DownstreamHTTPError) as info:
        await model.complete([ChatMessage("user", "hi")])
    assert info.value.status == 401 and "bad key" in str(info.value)
    assert model.downstream.breaker.state is State.CLOSED


def reranker(recorder: Recorder, unique: str) -> HttpReranker:
    return HttpReranker(
        downstream(f"rerank-{unique}"),
        base_url="http://rerank.local",
        api_key="k",
        model="rr-1",
        transport=httpx.MockTransport(recorder),
    )


async def test_reranker_sends_the_rerank_request_and_sorts_the_answer(unique: str) -> None:
    results = [{"index": 2, "relevance_score": 0.2}, {"index": 0, "relevance_score": 0.9}]
    recorder = Recorder(httpx.Response(200, json={"results": results}))
    ranking = await reranker(recorder, unique).rerank("q", ["a", "b", "c"], top_n=2)
    assert ranking == [(0, 0.9), (2, 0.2)]
    assert str(recorder.requests[0].url) == "http://rerank.local/v1/rerank"
    assert recorder.body == {
        "model": "rr-1",
        "query": "q",
        "documents": ["a", "b", "c"],
        "top_n": 2,
    }


async def test_reranker_trims_to_top_n_and_skips_empty_input(unique: str) -> None:
    results = [{"index": i, "relevance_score": 1 - i / 10} for i in range(3)]
    recorder = Recorder(httpx.Response(200, json={"results": results}))
    rr = reranker(recorder, unique)
    assert await rr.rerank("q", [], top_n=3) == []
    assert recorder.requests == []
    assert await rr.rerank("q", ["a", "b", "c"], top_n=10) == [(0, 1.0), (1, 0.9), (2, 0.8)]
    assert recorder.body["top_n"] == 3


@pytest.mark.parametrize(
    "body",
    [
        {"results": [{"index": 5, "relevance_score": 0.5}]},
        {"results": [{"index": "0", "relevance_score": 0.5}]},
        {"results": [{"index": 0}]},
        {"data": []},
    ],
    ids=["index-out-of-range", "index-not-int", "no-score", "no-results"],
)
async def test_reranker_refuses_a_malformed_answer(body: Any, unique: str) -> None:
    with pytest.raises(MalformedResponse):
        await reranker(Recorder(httpx.Response(200, json=body)), unique).rerank(
            "q", ["a", "b"], top_n=2
        )


async def test_bm25_reranker_puts_the_matching_text_first() -> None:
    texts = [
        "Reminders go out at 7, 21 and 35 days overdue.",
        "Letters of credit must be issued under UCP 600.",
        "Invoices are issued in EUR or USD.",
    ]
    ranking = await BM25Reranker().rerank("letter of credit UCP 600", texts, top_n=2)
    assert len(ranking) == 2 and ranking[0][0] == 1
    assert ranking[0][1] > ranking[1][1]
    assert await BM25Reranker().rerank("anything", texts, top_n=0) == []


def searcher(recorder: Recorder, unique: str) -> HttpSearchProvider:
    return HttpSearchProvider(
        "web",
        downstream(f"search-{unique}"),
        base_url="http://searx.local/engines/acme",
        transport=httpx.MockTransport(recorder),
    )


async def test_search_sends_the_searxng_query(unique: str) -> None:
    recorder = Recorder(httpx.Response(200, json={"results": []}))
    assert await searcher(recorder, unique).search("solar panels", limit=5, tenant_id="t1") == []
    url = recorder.requests[0].url
    assert recorder.requests[0].method == "GET"
    assert url.path == "/engines/acme/search"
    assert dict(url.params) == {"q": "solar panels", "format": "json", "pageno": "1"}
    assert "t1" not in str(url)  # tenants are ours, not the engine's business


async def test_search_normalises_engine_scores_and_honours_the_limit(unique: str) -> None:
    results = [
        {"title": "A Co", "url": "https://a.example.com", "content": "a  b", "score": 4.0},
        {"title": "B Co", "url": "https://b.example.com", "content": "b", "score": 2.0},
        {"title": "C Co", "url": "https://c.example.com", "content": "c", "score": 1.0},
    ]
    recorder = Recorder(httpx.Response(200, json={"results": results}))
    found = await searcher(recorder, unique).search("q", limit=2, tenant_id="t")
    assert [(r.title, r.url, r.snippet, r.score) for r in found] == [
        ("A Co", "https://a.example.com", "a b", 1.0),
        ("B Co", "https://b.example.com", "b", 0.5),
    ]
    assert {r.provider for r in found} == {"web"}


async def test_search_scores_by_rank_when_the_engine_gives_none(unique: str) -> None:
    results = [
        {"title": "A", "url": "https://a.example.com"},
        {"content": "no title, no url: unusable"},
        {"url": "https://b.example.com", "content": "untitled"},
        {"title": "C", "content": "no url", "score": 9},
    ]
    recorder = Recorder(httpx.Response(200, json={"results": results}))
    found = await searcher(recorder, unique).search("q", limit=10, tenant_id="t")
    assert [(r.title, r.url, r.score) for r in found] == [
        ("A", "https://a.example.com", 1.0),
        ("https://b.example.com", "https://b.example.com", 0.5),
        ("C", None, pytest.approx(1 / 3)),
    ]


async def test_search_refuses_a_malformed_answer(unique: str) -> None:
    recorder = Recorder(httpx.Response(200, json={"results": "none"}))
    with pytest.raises(MalformedResponse):
        await searcher(recorder, unique).search("q", limit=3, tenant_id="t")


async def test_search_skips_empty_queries(unique: str) -> None:
    recorder = Recorder(httpx.Response(200, json={"results": []}))
    assert await searcher(recorder, unique).search("  ", limit=3, tenant_id="t") == []
    assert await searcher(recorder, unique).search("q", limit=0, tenant_id="t") == []
    assert recorder.requests == []
