"""Dedupe by content hash. Within a document, a repeated chunk (a footer on every page)
is dropped here; across the tenant's documents, the unique (tenant, content hash) index
of the chunk store drops it and reports it as a duplicate."""

from __future__ import annotations

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
