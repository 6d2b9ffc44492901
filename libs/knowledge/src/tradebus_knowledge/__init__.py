"""Knowledge-base logic shared by the ingestion workers and dealbrain: parse, normalise,
chunk, embed, exact vector search and BM25. No I/O to our infrastructure."""

from .chunking import Chunk, chunk_text, content_hash, count_tokens, tokenize
from .embedding import (
    Embedder,
    EmbeddingProviderError,
    EmbeddingSettings,
    HashingEmbedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    build_embedder,
    l2_normalise,
)
from .lexical import BM25, bm25_rerank, terms
from .parsing import (
    SUPPORTED_TYPES,
    CorruptDocument,
    UnsupportedFormat,
    decode_text,
    detect_format,
    html_to_text,
    normalize,
    parse,
)
from .search import ExactIndex, Hit, VectorIndex, top_k

__all__ = [
    "BM25",
    "SUPPORTED_TYPES",
    "Chunk",
    "CorruptDocument",
    "Embedder",
    "EmbeddingProviderError",
    "EmbeddingSettings",
    "ExactIndex",
    "HashingEmbedder",
    "Hit",
    "OpenAIEmbedder",
    "SentenceTransformerEmbedder",
    "UnsupportedFormat",
    "VectorIndex",
    "bm25_rerank",
    "build_embedder",
    "chunk_text",
    "content_hash",
    "count_tokens",
    "decode_text",
    "detect_format",
    "html_to_text",
    "l2_normalise",
    "normalize",
    "parse",
    "terms",
    "tokenize",
    "top_k",
]
