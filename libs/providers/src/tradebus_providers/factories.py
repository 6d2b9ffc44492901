"""Providers from settings, each behind its own `Downstream` budget. Keyword defaults
are the service's budget defaults; the environment still wins over them."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from tradebus_resilience import Downstream, DownstreamSettings

from .chat import OpenAIChat
from .rerank import BM25Reranker, HttpReranker
from .search import HttpSearchProvider
from .settings import LLMSettings, RerankSettings, SearchSettings
from .types import ChatModel, Reranker, SearchProvider

# A completion takes seconds, not the milliseconds the generic defaults assume; the
# caller's deadline still caps every call.
LLM_BUDGET_DEFAULTS: dict[str, Any] = {"read_timeout_seconds": 30.0, "total_timeout_seconds": 60.0}


def build_chat(settings: LLMSettings, **budget_defaults: Any) -> ChatModel | None:
    """None means no LLM is configured: answer extractively."""
    if settings.provider == "extractive":
        return None
    base_url, model = _required(settings.base_url, settings.model)
    budget = DownstreamSettings.load("llm", **{**LLM_BUDGET_DEFAULTS, **budget_defaults})
    return OpenAIChat(
        Downstream("llm", budget), base_url=base_url, api_key=_secret(settings.api_key), model=model
    )


def build_reranker(settings: RerankSettings, **budget_defaults: Any) -> Reranker:
    if settings.provider == "bm25":
        return BM25Reranker()
    base_url, model = _required(settings.base_url, settings.model)
    budget = DownstreamSettings.load("rerank", **budget_defaults)
    return HttpReranker(
        Downstream("rerank", budget),
        base_url=base_url,
        api_key=_secret(settings.api_key),
        model=model,
    )


def build_search_providers(
    settings: SearchSettings, **budget_defaults: Any
) -> list[SearchProvider]:
    providers: list[SearchProvider] = []
    for name, url in settings.endpoints.items():
        downstream_name = f"search_{name}"
        budget = DownstreamSettings.load(downstream_name, **budget_defaults)
        providers.append(
            HttpSearchProvider(
                name,
                Downstream(downstream_name, budget),
                base_url=url,
                api_key=_secret(settings.api_key),
            )
        )
    return providers


async def close_providers(*providers: object) -> None:
    """Close the HTTP clients of whichever providers have one (the protocols don't)."""
    for provider in providers:
        aclose = getattr(provider, "aclose", None)
        if aclose is not None:
            await aclose()


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _required(base_url: str | None, model: str | None) -> tuple[str, str]:
    if not base_url or not model:  # the settings validators refuse this first
        raise ValueError("an HTTP provider needs base_url and model")
    return base_url, model
