"""The benchmark's corpus and labels: samples/documents parsed, normalised and chunked as
omnirag-ingest does (its default 256-token chunks, 32 of overlap), and the questions with
the evidence that marks their answering chunks.

A question's label is its document plus a short evidence string from the answer: every
chunk of that document containing the evidence (whitespace ignored) is relevant, so the
labels survive changes of chunk size and overlap."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from tradebus_knowledge import chunk_text, detect_format, normalize, parse

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "documents"
QUESTIONS = Path(__file__).resolve().parent / "questions.jsonl"
MAX_TOKENS, OVERLAP_TOKENS = 256, 32  # omnirag-ingest's defaults


@dataclass(frozen=True, slots=True)
class Passage:
    id: str  # `<document>:<index>`, as the service names chunks
    document: str
    text: str


@dataclass(frozen=True, slots=True)
class Question:
    lang: str
    text: str
    document: str
    evidence: str


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def load_corpus(
    max_tokens: int = MAX_TOKENS, overlap_tokens: int = OVERLAP_TOKENS
) -> list[Passage]:
    passages: list[Passage] = []
    for path in sorted(SAMPLES.iterdir()):
        if path.name == "corrupt.pdf":
            continue
        text = normalize(parse(path.read_bytes(), detect_format(path.name, None)))
        for chunk in chunk_text(text, max_tokens=max_tokens, overlap_tokens=overlap_tokens):
            passages.append(Passage(f"{path.name}:{chunk.index}", path.name, chunk.text))
    return passages


def load_questions() -> list[Question]:
    rows = [json.loads(line) for line in QUESTIONS.read_text("utf-8").splitlines() if line]
    return [Question(r["lang"], r["question"], r["document"], r["evidence"]) for r in rows]


def relevant(question: Question, corpus: list[Passage]) -> set[str]:
    """The chunks that answer `question`; a label matching none is a broken label."""
    wanted = _squash(question.evidence)
    found = {p.id for p in corpus if p.document == question.document and wanted in _squash(p.text)}
    if not found:
        raise ValueError(f"no chunk of {question.document} holds {question.evidence!r}")
    return found
