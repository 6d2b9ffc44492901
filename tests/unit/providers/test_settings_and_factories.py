from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from tradebus_providers import (
    BM25Reranker,
    HttpReranker,
    HttpSearchProvider,
    LLMSettings,
    OpenAIChat,
    RerankSettings,
    SearchSettings,
    build_chat,
    build_reranker,
    build_search_providers,
    close_providers,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Only what a test sets: no TRADEBUS_LLM_/RERANK_/SEARCH_ leaking in from outside."""
    for key in list(os.environ):
        if key.startswith(("TRADEBUS_LLM_", "TRADEBUS_RERANK_", "TRADEBUS_SEARCH_")):
            monkeypatch.delenv(key)
    return monkeypatch


def test_defaults_need_no_network() -> None:
    assert build_chat(LLMSettings()) is None
    assert isinstance(build_reranker(RerankSettings()), BM25Reranker)
    assert build_search_providers(SearchSettings()) == []


def test_openai_without_base_url_or_model_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TRADEBUS_LLM_PROVIDER", "openai")
    with pytest.raises(ValidationError) as info:
        LLMSettings()
    message = str(info.value)
    assert "TRADEBUS_LLM_PROVIDER=openai needs" in message
    assert "TRADEBUS_LLM_BASE_URL and TRADEBUS_LLM_MODEL" in message


@pytest.mark.parametrize(
    ("url", "complaint"),
    [("api.openai.com", "http(s) URL"), ("https://api.openai.com/v1", "without /v1")],
)
def test_bad_base_urls_are_refused(url: str, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        LLMSettings(provider="openai", base_url=url, model="m")


def test_http_reranker_needs_its_model(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TRADEBUS_RERANK_PROVIDER", "http")
    clean_env.setenv("TRADEBUS_RERANK_BASE_URL", "https://api.jina.ai")
    with pytest.raises(
        ValidationError, match="TRADEBUS_RERANK_PROVIDER=http needs TRADEBUS_RERANK_MODEL"
    ):
        RerankSettings()


async def test_build_chat_reads_settings_and_its_budget(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TRADEBUS_LLM_PROVIDER", "openai")
    clean_env.setenv("TRADEBUS_LLM_BASE_URL", "http://vllm:8000/")
    clean_env.setenv("TRADEBUS_LLM_API_KEY", "sk-secret")
    clean_env.setenv("TRADEBUS_LLM_MODEL", "qwen2.5-7b")
    clean_env.setenv("TRADEBUS_LLM_CONCURRENCY", "3")  # a budget key: ignored by LLMSettings
    settings = LLMSettings()
    assert settings.base_url == "http://vllm:8000"
    assert "sk-secret" not in repr(settings)
    chat = build_chat(settings, max_attempts=2)
    assert isinstance(chat, OpenAIChat) and chat.name == "openai:qwen2.5-7b"
    budget = chat.downstream.settings
    assert chat.downstream.name == "llm"
    assert (budget.concurrency, budget.max_attempts, budget.read_timeout_seconds) == (3, 2, 30.0)
    await close_providers(chat)


async def test_build_reranker_http(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TRADEBUS_RERANK_PROVIDER", "http")
    clean_env.setenv("TRADEBUS_RERANK_BASE_URL", "https://api.jina.ai")
    clean_env.setenv("TRADEBUS_RERANK_MODEL", "jina-reranker-v2")
    clean_env.setenv("TRADEBUS_RERANK_TOTAL_TIMEOUT_SECONDS", "1.5")
    reranker = build_reranker(RerankSettings())
    assert isinstance(reranker, HttpReranker)
    assert reranker.downstream.name == "rerank"
    assert reranker.downstream.settings.total_timeout_seconds == 1.5
    await close_providers(reranker)


async def test_build_search_providers_one_budget_per_endpoint(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv(
        "TRADEBUS_SEARCH_ENDPOINTS",
        '{"web": "http://searx:8080/", "acme": "http://faults:8930/engines/acme"}',
    )
    clean_env.setenv("TRADEBUS_SEARCH_ACME_MAX_ATTEMPTS", "1")
    providers = build_search_providers(SearchSettings())
    assert all(isinstance(p, HttpSearchProvider) for p in providers)
    by_name = {p.name: p for p in providers if isinstance(p, HttpSearchProvider)}
    assert sorted(by_name) == ["acme", "web"]
    assert by_name["acme"].downstream.name == "search_acme"
    assert by_name["acme"].downstream.settings.max_attempts == 1
    assert by_name["web"].downstream.settings.max_attempts == 3
    await close_providers(*providers)


@pytest.mark.parametrize(
    ("endpoints", "complaint"),
    [
        ('{"my engine": "http://x"}', "must be letters, digits"),
        ('{"web": "ftp://x"}', "http\\(s\\) URL"),
        ("not json", "endpoints"),
    ],
)
def test_bad_search_endpoints_are_refused(
    endpoints: str, complaint: str, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("TRADEBUS_SEARCH_ENDPOINTS", endpoints)
    with pytest.raises((ValidationError, ValueError), match=complaint):
        SearchSettings()


async def test_close_providers_closes_only_what_has_a_client() -> None:
    closed: list[str] = []

    class WithClient:
        async def aclose(self) -> None:
            closed.append("closed")

    await close_providers(BM25Reranker(), WithClient(), None)
    assert closed == ["closed"]
