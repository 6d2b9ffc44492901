"""Token-aware chunking with overlap.

Tokens are approximated without a model vocabulary (nothing may be downloaded at run
time): words and punctuation marks count one each, and long words count one per six
characters, which tracks subword tokenizers (BERT WordPiece, BPE) closely enough to keep
chunks inside an embedding model's window. Chunks follow paragraph, then sentence
boundaries; only a sentence longer than a whole chunk is cut between tokens."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
# Sentence ends, including the CJK full stop and full-width marks.
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+(?=\S)")


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    text: str
    token_count: int
    content_hash: str


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    return sum(math.ceil(len(t) / 6) for t in _TOKEN.findall(text))


def content_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def _sentences(text: str) -> list[str]:
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if paragraph:
            units.extend(s for s in _SENTENCE_END.split(paragraph) if s)
    return units


def _split_long(sentence: str, max_tokens: int) -> list[str]:
    """Cut a sentence longer than a chunk at word boundaries."""
    pieces: list[str] = []
    words: list[str] = []
    size = 0
    for word in sentence.split(" "):
        cost = count_tokens(word)
        if words and size + cost > max_tokens:
            pieces.append(" ".join(words))
            words, size = [], 0
        words.append(word)
        size += cost
    if words:
        pieces.append(" ".join(words))
    return pieces


def chunk_text(text: str, *, max_tokens: int = 256, overlap_tokens: int = 32) -> list[Chunk]:
    if max_tokens < 1 or not 0 <= overlap_tokens < max_tokens:
        raise ValueError("need max_tokens >= 1 and 0 <= overlap_tokens < max_tokens")
    units = [
        (piece, count_tokens(piece))
        for sentence in _sentences(text)
        for piece in _split_long(sentence, max_tokens)
    ]
    chunks: list[Chunk] = []
    current: list[tuple[str, int]] = []
    size = 0
    fresh = False  # the current chunk holds more than the carried-over overlap
    for unit, cost in units:
        if current and size + cost > max_tokens:
            chunks.append(_make(len(chunks), current))
            current, size = _overlap(current, overlap_tokens, max_tokens - cost)
            fresh = False
        current.append((unit, cost))
        size += cost
        fresh = True
    if current and fresh:
        chunks.append(_make(len(chunks), current))
    return chunks


def _overlap(
    previous: list[tuple[str, int]], overlap_tokens: int, room: int
) -> tuple[list[tuple[str, int]], int]:
    """The trailing sentences of the previous chunk, up to the overlap and the room left."""
    budget = min(overlap_tokens, room)
    carried: list[tuple[str, int]] = []
    size = 0
    for unit, cost in reversed(previous):
        if size + cost > budget:
            break
        carried.insert(0, (unit, cost))
        size += cost
    if not carried and budget > 0 and previous:
        # The last sentence alone is longer than the overlap: carry its tail words.
        words = previous[-1][0].split(" ")
        tail: list[str] = []
        for word in reversed(words[1:]):
            cost = count_tokens(word)
            if size + cost > budget:
                break
            tail.insert(0, word)
            size += cost
        if tail:
            carried = [(" ".join(tail), size)]
    return carried, size


def _make(index: int, units: list[tuple[str, int]]) -> Chunk:
    text = " ".join(u for u, _ in units)
    return Chunk(index, text, sum(c for _, c in units), content_hash(text))
