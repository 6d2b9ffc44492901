"""omnirag-ingest's pure logic: parse limits, chunking, dedupe (the address policy is
the shared one in tradebus_egress)."""

from .chunking import (
    ChunkingPolicy,
    batches,
    chunk_document,
    embed_message_id,
    indexed_message_id,
)
from .dedupe import content_digest, first_of_each
from .parsing import (
    CORRUPT,
    EMPTY,
    PARSER_CRASHED,
    TIMEOUT,
    TOO_COMPLEX,
    UNSUPPORTED,
    ParseLimits,
    Unprocessable,
)

__all__ = [
    "CORRUPT",
    "EMPTY",
    "PARSER_CRASHED",
    "TIMEOUT",
    "TOO_COMPLEX",
    "UNSUPPORTED",
    "ChunkingPolicy",
    "ParseLimits",
    "Unprocessable",
    "batches",
    "chunk_document",
    "content_digest",
    "embed_message_id",
    "first_of_each",
    "indexed_message_id",
]
