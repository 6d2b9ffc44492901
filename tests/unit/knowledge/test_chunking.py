import itertools

import pytest

from tradebus_knowledge import chunk_text, content_hash, count_tokens

TEXT = "\n\n".join(
    " ".join(f"Sentence {p}.{s} talks about letters of credit and Incoterms." for s in range(6))
    for p in range(12)
)


def test_chunks_respect_the_size_limit_and_cover_the_text() -> None:
    chunks = chunk_text(TEXT, max_tokens=60, overlap_tokens=12)
    assert len(chunks) > 5
    assert all(c.token_count <= 60 for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    joined = " ".join(c.text for c in chunks)
    for p in range(12):
        assert f"Sentence {p}.5 " in joined


def test_consecutive_chunks_overlap_by_whole_sentences() -> None:
    chunks = chunk_text(TEXT, max_tokens=60, overlap_tokens=12)
    for before, after in itertools.pairwise(chunks):
        first_sentence = after.text.split(". ")[0]
        assert first_sentence in before.text


def test_no_overlap_when_asked() -> None:
    chunks = chunk_text(TEXT, max_tokens=60, overlap_tokens=0)
    total = sum(c.token_count for c in chunks)
    assert total == count_tokens(TEXT)


def test_a_sentence_longer_than_a_chunk_is_cut_at_words() -> None:
    chunks = chunk_text("word " * 250, max_tokens=100, overlap_tokens=10)
    # The last piece (50 words) has room for 10 words of overlap from the one before.
    assert [c.token_count for c in chunks] == [100, 100, 60]


def test_chunking_is_deterministic_and_hashes_ignore_spacing() -> None:
    assert chunk_text(TEXT) == chunk_text(TEXT)
    assert content_hash("a  b\nc") == content_hash("a b c")
    assert content_hash("a b") != content_hash("a c")


def test_empty_text_and_bad_settings() -> None:
    assert chunk_text("  \n ") == []
    with pytest.raises(ValueError):
        chunk_text("x", max_tokens=10, overlap_tokens=10)


def test_long_words_count_as_several_tokens() -> None:
    assert count_tokens("a, b.") == 4
    assert count_tokens("internationalisation") == 4
