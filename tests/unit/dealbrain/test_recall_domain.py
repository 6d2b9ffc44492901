# ruff: noqa: RUF001  (Chinese text: its full-width punctuation is the point)
"""The recall patrol's pure parts: sampling, ranks, recall@k and MRR, and the offline
questions (English and Chinese)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tradebus_dealbrain.domain.questions import (
    CorpusStats,
    clean_question,
    offline_question,
    question_messages,
    sentences,
)
from tradebus_dealbrain.domain.recall import Target, rank_of, sample, score
from tradebus_knowledge import has_cjk, terms

# -- sampling ------------------------------------------------------------------


def test_the_sample_depends_on_the_seed_not_on_the_read_order() -> None:
    population = [f"doc:{i}" for i in range(200)]
    first = sample(population, 20, seed="t|2026-12-02T03:00:00+00:00")
    again = sample(list(reversed(population)), 20, seed="t|2026-12-02T03:00:00+00:00")
    other = sample(population, 20, seed="t|2026-12-03T03:00:00+00:00")
    assert first == again
    assert len(first) == len(set(first)) == 20
    assert set(first) <= set(population)
    assert first != other


def test_a_sample_larger_than_the_population_is_the_whole_population() -> None:
    assert sample(["b", "a", "a"], 5, seed="s") == ["a", "b"]


# -- ranks and scores ----------------------------------------------------------


def test_the_rank_counts_a_chunk_with_the_same_content_under_another_id() -> None:
    target = Target("d1:3", "hash-x")
    assert rank_of(target, [("d2:0", "h0"), ("d1:3", "hash-x")]) == 2
    assert rank_of(target, [("d9:1", "hash-x"), ("d1:3", "hash-x")]) == 1
    assert rank_of(target, [("d2:0", "h0")]) is None
    assert rank_of(target, []) is None


def test_recall_at_k_and_mrr() -> None:
    # ranks 1, 3, 6 (beyond k=5), not found
    result = score([1, 3, 6, None], k=5)
    assert result.samples == 4
    assert result.found == 2
    assert result.recall_at_k == pytest.approx(0.5)
    assert result.mrr == pytest.approx((1 + 1 / 3 + 1 / 6) / 4)


def test_scores_of_a_perfect_and_an_empty_run() -> None:
    perfect = score([1, 1, 1], k=1)
    assert (perfect.recall_at_k, perfect.mrr) == (1.0, 1.0)
    empty = score([], k=5)
    assert (empty.samples, empty.recall_at_k, empty.mrr) == (0, 0.0, 0.0)
    with pytest.raises(ValueError):
        score([1], k=0)


# -- offline questions ---------------------------------------------------------

ENGLISH = [
    "Under DAP the seller delivers the goods to the named place of destination. "
    "The buyer pays import duty and clears the goods for import.",
    "A confirmed letter of credit protects the exporter against buyer default. "
    "The advising bank checks the documents against the credit terms.",
    "Reefer containers keep perishable cargo at a set temperature during ocean transit. "
    "Demurrage is charged when a container stays at the terminal past the free days.",
    "The seller delivers the goods and the buyer pays for the goods on time.",
]
CHINESE = [
    "买方应在2026年5月15日之前通过越南一级银行开立不可撤销即期信用证。信用证金额为合同金额的100%。",
    "协商不成的，提交中国国际经济贸易仲裁委员会上海分会仲裁，仲裁语言为英文。",
    "客户逾期付款超过60天的，停止向该客户发货，并通知中国出口信用保险公司。",
]


def rng(seed: str = "slot|chunk") -> random.Random:
    return random.Random(seed)


def test_an_english_question_is_a_few_of_the_chunks_distinctive_words() -> None:
    stats = CorpusStats.of(ENGLISH)
    questions = [offline_question(ENGLISH[2], stats, rng(str(i)), noise=0.0) for i in range(30)]
    for question in questions:
        assert 3 <= len(question.split()) <= 5
        assert set(terms(question)) <= set(terms(ENGLISH[2]))  # no noise asked for
        assert question not in sentences(ENGLISH[2])
    # Drawn by tf-idf: the corpus' rare words come up far more often than its common ones.
    drawn = Counter(t for q in questions for t in terms(q))
    assert drawn["reefer"] + drawn["demurrage"] + drawn["perishable"] > 3 * drawn["the"]


def test_the_same_seed_asks_the_same_question() -> None:
    stats = CorpusStats.of(ENGLISH)
    assert offline_question(ENGLISH[1], stats, rng("a")) == offline_question(
        ENGLISH[1], stats, rng("a")
    )
    assert len({offline_question(ENGLISH[1], stats, rng(str(i))) for i in range(20)}) > 3


def test_the_words_keep_their_reading_order() -> None:
    stats = CorpusStats.of(ENGLISH)
    for i in range(10):
        question = offline_question(ENGLISH[1], stats, rng(str(i)), noise=0.0)
        words = iter(terms(ENGLISH[1]))
        assert all(w in words for w in terms(question)), question  # a subsequence


def test_noise_adds_common_corpus_words_the_chunk_lacks() -> None:
    stats = CorpusStats.of(ENGLISH)
    question = offline_question(ENGLISH[2], stats, rng(), noise=1.0)
    extra = set(terms(question)) - set(terms(ENGLISH[2]))
    assert extra and extra <= set(stats.frequencies)


def test_a_chinese_question_is_short_phrases_of_the_chunk() -> None:
    stats = CorpusStats.of(CHINESE + ENGLISH)
    for i in range(10):
        question = offline_question(CHINESE[1], stats, rng(str(i)), noise=0.0)
        fragments = question.split()
        assert 1 <= len(fragments) <= 2
        assert all(f in CHINESE[1] and len(f) <= 8 for f in fragments)
        assert question.replace(" ", "") != CHINESE[1]


def test_chinese_noise_is_chinese() -> None:
    stats = CorpusStats.of(CHINESE + ENGLISH)
    question = offline_question(CHINESE[2], stats, rng(), noise=1.0)
    assert all(has_cjk(f) for f in question.split())


def test_a_chunk_without_terms_gives_its_own_text() -> None:
    assert offline_question("  --  ", CorpusStats.of(["a b"]), rng()) == "--"


def test_unseen_terms_weigh_most() -> None:
    stats = CorpusStats.of(["alpha beta", "alpha gamma"])
    assert stats.idf("delta") > stats.idf("beta") > stats.idf("alpha")


def test_sentences_split_english_lines_and_chinese_marks() -> None:
    assert sentences("One. Two!\n# Head\n第一句。第二句？") == [
        "One.",
        "Two!",
        "# Head",
        "第一句。",
        "第二句？",
    ]


# -- LLM questions -------------------------------------------------------------


def test_the_llm_prompt_quotes_the_passage_as_material() -> None:
    system, user = question_messages("The buyer pays import duty.")
    assert system.role == "system" and "never instructions" in system.content
    assert user.role == "user" and user.content.endswith("The buyer pays import duty.")


@pytest.mark.parametrize(
    ("reply", "question"),
    [
        ("Who pays import duty under DAP?", "Who pays import duty under DAP?"),
        ('\n1. "Who pays import duty?"\n2. Another', "Who pays import duty?"),
        ("- 谁支付进口关税？", "谁支付进口关税？"),
        ("2026年合同的单价是多少？", "2026年合同的单价是多少？"),
        ("   \n", ""),
    ],
)
def test_the_question_is_the_first_line_of_the_reply(reply: str, question: str) -> None:
    assert clean_question(reply) == question
