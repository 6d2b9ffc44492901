"""The offline answerer on the sample trade documents, chunked as ingestion chunks them."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from tradebus_knowledge import bm25_rerank, chunk_text, detect_format, normalize, parse
from tradebus_providers import NO_ANSWER, Answer, ExtractiveAnswerer, Passage

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "documents"
MARKER = re.compile(r" \[(\d+)\]")


@pytest.fixture(scope="module")
def library() -> list[Passage]:
    passages = []
    for path in sorted(SAMPLES.iterdir()):
        if path.name == "corrupt.pdf":
            continue
        text = normalize(parse(path.read_bytes(), detect_format(path.name, None)))
        for chunk in chunk_text(text, max_tokens=120, overlap_tokens=24):
            passages.append(Passage(f"{path.name}#{chunk.index}", chunk.text, path.name))
    return passages


def retrieve(library: list[Passage], question: str, k: int = 5) -> list[Passage]:
    """Stand-in for the vector search: the top-k chunks with their retrieval scores."""
    ranked = bm25_rerank(question, [p.text for p in library])[:k]
    return [Passage(library[i].id, library[i].text, library[i].title, s) for i, s in ranked]


def cited_sentences(answer: Answer) -> list[tuple[str, int]]:
    """(sentence without its marker, passage index) for each sentence of the answer."""
    out = []
    for piece in re.split(r"(?<=\]\.)\s+|(?<=\])\s+(?=[A-Z])", answer.text):
        numbers = MARKER.findall(piece)
        assert len(numbers) == 1, f"one marker per sentence: {piece!r}"
        out.append((MARKER.sub("", piece), int(numbers[0]) - 1))
    return out


@pytest.mark.parametrize(
    ("question", "source", "phrase"),
    [
        ("Who pays import duties under DDP?", "incoterms", "pays duties and import VAT"),
        ("How are supplier bank account details confirmed?", "supplier", "call-back"),
        ("When do deliveries stop for overdue invoices?", "payment-terms", "45 days overdue"),
        ("What minimum insurance cover does CIP require?", "incoterms", "Clauses (A)"),
    ],
)
def test_answers_quote_the_relevant_passage_and_cite_it(
    library: list[Passage], question: str, source: str, phrase: str
) -> None:
    passages = retrieve(library, question)
    answer = ExtractiveAnswerer().answer(question, passages)
    assert phrase in answer.text
    assert answer.cited and answer.cited[0] < len(passages)
    sentences = cited_sentences(answer)
    for sentence, index in sentences:
        # Every sentence is the cited passage's own text, not a paraphrase.
        assert sentence in " ".join(passages[index].text.split()), (sentence, passages[index].id)
    assert answer.cited == list(dict.fromkeys(i for _, i in sentences))
    best = next(i for s, i in sentences if phrase in s)
    assert passages[best].title.startswith(source)


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "Who won the football world cup in 2018?", "?", ""],
)
def test_an_unanswerable_question_cites_nothing(library: list[Passage], question: str) -> None:
    answer = ExtractiveAnswerer().answer(question, library[:8])
    assert answer == Answer(NO_ANSWER, [])


def test_no_passages_no_answer() -> None:
    assert ExtractiveAnswerer().answer("Who pays duties under DDP?", []).cited == []


def test_overlapping_chunks_do_not_repeat_a_sentence() -> None:
    shared = "The seller pays import duties under DDP."
    passages = [
        Passage("a", f"DDP means delivered duty paid. {shared}", score=0.9),
        Passage("b", f"{shared} Sellers should check VAT registration first.", score=0.8),
    ]
    answer = ExtractiveAnswerer().answer("Who pays import duties under DDP?", passages)
    assert answer.text.count("pays import duties") == 1
    assert "pays import duties under DDP [1]." in answer.text  # kept in the better passage


def test_the_retrieval_score_breaks_a_lexical_tie() -> None:
    passages = [
        Passage("low", "Open account terms need an approved credit limit.", score=0.2),
        Passage("high", "An approved credit limit allows open account terms.", score=0.9),
    ]
    answer = ExtractiveAnswerer().answer("open account credit limit", passages, max_sentences=1)
    assert answer.cited == [1] and answer.text.endswith("terms [2].")


def test_max_sentences_and_readable_order(library: list[Passage]) -> None:
    question = "letter of credit presentation period documents"
    passages = retrieve(library, question)
    answer = ExtractiveAnswerer().answer(question, passages, max_sentences=2)
    sentences = cited_sentences(answer)
    assert 1 <= len(sentences) <= 2
    positions = [
        (index, " ".join(passages[index].text.split()).index(sentence))
        for sentence, index in sentences
    ]
    for (a, pa), (b, pb) in itertools.pairwise(positions):
        assert a != b or pa < pb  # within one passage, document order


def test_markdown_structure_does_not_leak_into_sentences() -> None:
    text = "## Default terms\n\n- **FCA (Free Carrier)**: the seller delivers to the carrier.\n"
    answer = ExtractiveAnswerer().answer("What does FCA mean?", [Passage("p", text)])
    assert answer.text == "FCA (Free Carrier): the seller delivers to the carrier [1]."
