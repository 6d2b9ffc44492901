"""What a reply says about the evidence behind an answer. Pure."""

from __future__ import annotations

from tradebus_contracts import Citation
from tradebus_retrieval import RetrievedChunk

SNIPPET_CHARS = 280


def citation_of(chunk: RetrievedChunk) -> Citation:
    return Citation(
        document_id=chunk.document_id,
        chunk_id=chunk.id,
        title=chunk.title,
        snippet=snippet(chunk.text),
        score=round(chunk.score, 4),  # the chunk's similarity to the question
    )


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The chunk's start on one line, cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit] + "…"
