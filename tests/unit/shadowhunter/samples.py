"""The account notes of samples/documents/steel-buyers-southeast-asia.md, as written and
as omnirag-ingest stores them (its default chunking: 256 tokens, 32 of overlap, every line
break flattened)."""

from __future__ import annotations

from pathlib import Path

from tradebus_knowledge import chunk_text, normalize, parse

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "documents"
NOTES = (SAMPLES / "steel-buyers-southeast-asia.md").read_text(encoding="utf-8")
NOTES_CHUNKS = [
    c.text
    for c in chunk_text(normalize(parse(NOTES.encode(), "md")), max_tokens=256, overlap_tokens=32)
]
