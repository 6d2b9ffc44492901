"""Dedupe by content hash. Within a document, a repeated chunk (a footer on every page)
is dropped here. Across documents nothing is dropped: each document owns its chunks, so
deleting one never takes another's text with it. A whole document whose content the
tenant already has is recognised by `content_digest` instead (the pipeline answers with
the existing document)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from tradebus_knowledge import Chunk


def first_of_each(chunks: Iterable[Chunk]) -> tuple[list[Chunk], int]:
    """The chunks whose content hash has not appeared before, in order (indexes kept,
    so chunk ids stay stable), and how many repeats were dropped."""
    seen: set[str] = set()
    kept: list[Chunk] = []
    dropped = 0
    for chunk in chunks:
        if chunk.content_hash in seen:
            dropped += 1
            continue
        seen.add(chunk.content_hash)
        kept.append(chunk)
    return kept, dropped


def content_digest(data: bytes) -> str:
    """The identity of a document's content: equal bytes, equal digest."""
    return hashlib.sha256(data).hexdigest()
