"""omnirag-ingest's pure chunking, batching and dedupe."""

from __future__ import annotations

import pytest

from tradebus_knowledge import Chunk, content_hash
from tradebus_omnirag_ingest.domain import (
    ChunkingPolicy,
    Unprocessable,
    batches,
    chunk_document,
    embed_message_id,
    first_of_each,
)

POLICY = ChunkingPolicy(max_tokens=32, overlap_tokens=4, batch_size=3, max_chunks=100)


def test_chunking_is_deterministic_so_redeliveries_write_the_same_chunks() -> None:
    text = "\n\n".join(f"Paragraph {i} says something useful about trade." for i in range(40))
    first, again = chunk_document(text, POLICY), chunk_document(text, POLICY)
    assert first == again and len(first) > 3


def test_an_empty_text_and_too_many_chunks_are_unprocessable() -> None:
    with pytest.raises(Unprocessable) as empty:
        chunk_document("   ", POLICY)
    assert empty.value.code == "empty_document"
    tight = ChunkingPolicy(max_tokens=32, overlap_tokens=4, batch_size=3, max_chunks=2)
    with pytest.raises(Unprocessable) as many:
        chunk_document("word " * 500, tight)
    assert many.value.code == "too_complex"


def test_batches_cover_every_id_in_order() -> None:
    ids = [f"d:{i}" for i in range(7)]
    assert batches(ids, 3) == [["d:0", "d:1", "d:2"], ["d:3", "d:4", "d:5"], ["d:6"]]
    assert batches([], 3) == []
    assert embed_message_id("t1", 2) == "t1.embed.2"


def chunk(index: int, text: str) -> Chunk:
    return Chunk(index, text, 1, content_hash(text))


def test_repeats_within_a_document_are_dropped_keeping_indexes() -> None:
    chunks = [chunk(0, "a"), chunk(1, "footer"), chunk(2, "b"), chunk(3, "footer")]
    kept, dropped = first_of_each(chunks)
    assert [c.index for c in kept] == [0, 1, 2] and dropped == 1
