"""Chinese and mixed Chinese/English text: segmentation into index terms, token counts,
sentence cuts and chunking. English must come out exactly as before."""

from __future__ import annotations

import importlib.util

import pytest

from tradebus_knowledge import (
    BM25,
    HashingEmbedder,
    chunk_text,
    cjk_bigrams,
    count_tokens,
    cut_cjk_sentences,
    has_cjk,
    normalize,
    terms,
    tokenize,
    truncate_to_tokens,
)
from tradebus_knowledge.segmentation import close_cjk_gaps, join_units

CONTRACT = (
    "单价为每吨615美元,CFR越南胡志明市吉莱港。装运期为2026年6月30日之前。"
    "如卖方未能在约定装运期内装运,每迟延一周,卖方应向买方支付合同金额0.5%的违约金。"
)


def test_english_terms_are_lowercased_word_runs_as_before() -> None:
    assert terms("Under DAP the Buyer pays import_duty, 5%!") == [
        "under", "dap", "the", "buyer", "pays", "import_duty", "5",
    ]  # fmt: skip


def test_chinese_runs_become_characters_and_bigrams() -> None:
    assert cjk_bigrams("信用证") == ["信", "信用", "用", "用证", "证"]
    assert terms("信用证") == ["信", "信用", "用", "用证", "证"]


def test_mixed_text_keeps_latin_words_whole_and_segments_the_chinese() -> None:
    assert terms("FOB宁波港报价USD 38.50") == [
        "fob", "宁", "宁波", "波", "波港", "港", "港报", "报", "报价", "价", "usd", "38", "50",
    ]  # fmt: skip


def test_jieba_segmentation_is_an_option() -> None:
    """jieba is a bench-only comparison (bench/retrieval/requirements.txt): without it the
    option says what to install."""
    from tradebus_knowledge import jieba_words

    if importlib.util.find_spec("jieba") is None:
        with pytest.raises(RuntimeError, match="jieba"):
            terms("信用证", segment=jieba_words)
    else:
        assert "信用证" in terms("不可撤销即期信用证", segment=jieba_words)


def test_has_cjk() -> None:
    assert has_cjk("价格 price") and has_cjk("カタカナ") and has_cjk("한국어")
    assert not has_cjk("price list, 2026")


def test_a_cjk_character_counts_one_token() -> None:
    assert tokenize("每吨615美元。") == ["每", "吨", "615", "美", "元", "。"]
    assert count_tokens("付款条件") == 4
    # Full-width punctuation is one token each; English counting is unchanged.
    assert count_tokens("付款,条件。") == 6
    assert count_tokens("internationalisation") == 4
    assert count_tokens("FOB宁波 price") == 4


def test_chinese_sentences_are_cut_on_chinese_punctuation() -> None:
    text = "他说:「价格上涨了。」我们同意!下一步?好的;还有……最后。"
    assert cut_cjk_sentences(text) == [
        "他说:「价格上涨了。」", "我们同意!", "下一步?", "好的;", "还有……", "最后。",
    ]  # fmt: skip
    # Full-width marks (\uff01 \uff1f \uff1b), and the ASCII ones NFKC (the parser's
    # normalisation) turns them into: sentence ends either way.
    fullwidth = "报价多少\uff1f我们需要500吨\uff01好的\uff1b"
    assert cut_cjk_sentences(fullwidth) == [
        "报价多少\uff1f", "我们需要500吨\uff01", "好的\uff1b",
    ]  # fmt: skip
    assert cut_cjk_sentences(normalize(fullwidth)) == ["报价多少?", "我们需要500吨!", "好的;"]
    assert cut_cjk_sentences("Plain English. Not cut here!") == ["Plain English. Not cut here!"]


def test_hard_wrapped_chinese_lines_join_without_a_space() -> None:
    assert close_cjk_gaps("货物为冷轧\n钢卷") == "货物为冷轧钢卷"
    assert close_cjk_gaps("第一条 货物") == "第一条 货物"  # a space on one line is kept
    assert close_cjk_gaps("English\nwrap") == "English\nwrap"
    assert (
        join_units(["价格上涨了。", "我们同意。", "OK then."]) == "价格上涨了。我们同意。 OK then."
    )


def test_chinese_chunks_follow_sentences_and_honour_the_token_limit() -> None:
    chunks = chunk_text(CONTRACT, max_tokens=40, overlap_tokens=0)
    assert len(chunks) >= 2
    assert all(c.token_count <= 40 for c in chunks)
    assert chunks[0].text.endswith("。")
    assert "".join(c.text for c in chunks) == CONTRACT
    assert sum(c.token_count for c in chunks) == count_tokens(CONTRACT)


def test_a_chinese_sentence_longer_than_a_chunk_is_cut_between_characters() -> None:
    sentence = "买卖双方经友好协商同意按下列条款签订本合同" * 10  # 210 characters, no stop
    chunks = chunk_text(sentence, max_tokens=50, overlap_tokens=10)
    # As for English words: full pieces, and the short last one carries 10 of overlap.
    assert [c.token_count for c in chunks] == [50, 50, 50, 50, 20]
    assert chunks[-1].text.startswith(chunks[-2].text[-10:])
    assert truncate_to_tokens(sentence, 7) == "买卖双方经友好"


def test_mixed_language_documents_chunk_into_both_languages() -> None:
    text = (
        "Payment terms: 30% T/T deposit, balance before shipment. "
        "付款方式:30%电汇定金,发货前付清余款。\n\n"
        "Lead time is 40 days after deposit. 交货期为收到定金后40天。"
    )
    chunks = chunk_text(text, max_tokens=24, overlap_tokens=0)
    assert [c.text for c in chunks] == [
        "Payment terms: 30% T/T deposit, balance before shipment.",
        "付款方式:30%电汇定金,发货前付清余款。",
        "Lead time is 40 days after deposit. 交货期为收到定金后40天。",
    ]
    assert all(c.token_count <= 24 for c in chunks)


def test_bm25_and_hashing_match_a_chinese_question_to_its_chunk() -> None:
    docs = [
        "单价为每吨615美元,CFR越南胡志明市吉莱港。",
        "买方应在2026年5月15日之前开立不可撤销即期信用证。",
        "Under DAP the buyer pays import duty.",
    ]
    scores = BM25(docs).scores("信用证什么时候开立?")
    assert max(range(3), key=scores.__getitem__) == 1
    embedder = HashingEmbedder(384)
    matrix = embedder.embed_sync(docs)
    query = embedder.embed_sync(["钢卷的单价是多少美元?"])[0]
    assert int((matrix @ query).argmax()) == 0


def test_hashing_vectors_of_english_text_are_unchanged() -> None:
    # Features are exactly the old ones (words and word pairs), so vectors stored before
    # this change stay valid for English documents.
    import hashlib
    import itertools
    import re

    import numpy as np

    text = "Under DAP the buyer pays import duty and clears the goods."
    words = re.findall(r"\w+", text.lower())
    expected = np.zeros(64, dtype=np.float32)
    features = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    for feature in set(features):
        value = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
        count = features.count(feature)
        expected[(value >> 1) % 64] += (1.0 if value & 1 else -1.0) * (1.0 + np.log(count))
    expected /= np.linalg.norm(expected)
    assert np.allclose(HashingEmbedder(64).embed_sync([text])[0], expected, atol=1e-6)
