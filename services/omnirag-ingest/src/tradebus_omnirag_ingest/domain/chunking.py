"""Text → chunks → embed batches: pure, deterministic, so a redelivered ingest produces
exactly the same chunks, ids and batch message ids as the first delivery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tradebus_knowledge import Chunk, chunk_text

from .parsing import EMPTY, TOO_COMPLEX, Unprocessable


@dataclass(frozen=True, slots=True)
class ChunkingPolicy:
    max_tokens: int
    overlap_tokens: int
    batch_size: int
    max_chunks: int = 10_000


def chunk_document(text: str, policy: ChunkingPolicy) -> list[Chunk]:
    chunks = chunk_text(text, max_tokens=policy.max_tokens, overlap_tokens=policy.overlap_tokens)
    if not chunks:
        raise Unprocessable(EMPTY, "the document contains no text")
    if len(chunks) > policy.max_chunks:
        raise Unprocessable(
            TOO_COMPLEX, f"the document makes {len(chunks)} chunks, more than {policy.max_chunks}"
        )
    return chunks


def batches(ids: Sequence[str], size: int) -> list[list[str]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def embed_message_id(task_id: str, batch_index: int) -> str:
    """Deterministic, so a re-published batch is the same message to the inbox."""
    return f"{task_id}.embed.{batch_index}"


def indexed_message_id(task_id: str) -> str:
    return f"{task_id}.indexed"
