"""External AI and search APIs behind small protocols, each HTTP call under a
`tradebus_resilience.Downstream` budget, with offline defaults (the extractive
answerer, BM25) so a deployment without any API key still answers."""

from .chat import OpenAIChat
from .errors import MalformedResponse
from .extractive import NO_ANSWER, ExtractiveAnswerer
from .factories import (
    LLM_BUDGET_DEFAULTS,
    build_chat,
    build_reranker,
    build_search_providers,
    close_providers,
)
from .rerank import BM25Reranker, HttpReranker
from .search import HttpSearchProvider
from .settings import LLMSettings, RerankSettings, SearchSettings
from .summary import summarize
from .types import (
    Answer,
    ChatMessage,
    ChatModel,
    Passage,
    Reranker,
    SearchProvider,
    SearchResult,
)

__all__ = [
    "LLM_BUDGET_DEFAULTS",
    "NO_ANSWER",
    "Answer",
    "BM25Reranker",
    "ChatMessage",
    "ChatModel",
    "ExtractiveAnswerer",
    "HttpReranker",
    "HttpSearchProvider",
    "LLMSettings",
    "MalformedResponse",
    "OpenAIChat",
    "Passage",
    "RerankSettings",
    "Reranker",
    "SearchProvider",
    "SearchResult",
    "SearchSettings",
    "build_chat",
    "build_reranker",
    "build_search_providers",
    "close_providers",
    "summarize",
]
