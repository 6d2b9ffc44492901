"""dealbrain's offline answer and summary paths on Chinese: sentences cut on Chinese
punctuation, citations placed before the full stop, token counts per character."""

from __future__ import annotations

from datetime import UTC, datetime

from tradebus_dealbrain.domain import Turn, resolve_citations
from tradebus_providers import ExtractiveAnswerer
from tradebus_providers._text import split_sentences
from tradebus_providers.summary import summarize
from tradebus_providers.types import Passage

CONTRACT = Passage(
    "contract:0",
    "单价为每吨615美元,CFR越南胡志明市吉莱港。装运期为2026年6月30日之前,允许分批装运。"
    "买方应在2026年5月15日之前开立不可撤销即期信用证;信用证有效期至装运期后21天。",
    "冷轧钢卷销售合同",
    0.8,
)
POLICY = Passage(
    "policy:0",
    "发票到期后第10天,业务员发送第一次催款函。逾期第30天,停止向该客户发货!逾期第60天,移交法务部。",
    "跨境收款与信用管理规定",
    0.5,
)


def test_chinese_sentences_are_cut_on_full_stops_exclamations_and_semicolons() -> None:
    assert split_sentences(POLICY.text) == [
        "发票到期后第10天,业务员发送第一次催款函。",
        "逾期第30天,停止向该客户发货!",
        "逾期第60天,移交法务部。",
    ]
    assert split_sentences("他问:价格多少?我们回答:615美元……明天确认。") == [
        "他问:价格多少?", "我们回答:615美元……", "明天确认。",
    ]  # fmt: skip


def test_mixed_sentences_keep_english_rules() -> None:
    assert split_sentences("Price is USD 615 per tonne. 单价为每吨615美元。See the contract.") == [
        "Price is USD 615 per tonne.", "单价为每吨615美元。", "See the contract.",
    ]  # fmt: skip


def test_a_chinese_question_gets_the_right_chinese_sentence_with_a_citation() -> None:
    answer = ExtractiveAnswerer().answer(
        "买方最晚什么时候开立信用证?", [CONTRACT, POLICY], max_sentences=1
    )
    assert answer.text == "买方应在2026年5月15日之前开立不可撤销即期信用证 [1];"
    assert answer.cited == [0]


def test_a_chinese_question_the_passages_do_not_answer_gets_no_answer() -> None:
    answer = ExtractiveAnswerer().answer("集装箱免费用箱期是多少天?", [POLICY])
    assert answer.cited == []


def test_an_extractive_summary_of_chinese_turns_fits_its_budget() -> None:
    lines = [f"user: {CONTRACT.text}", f"assistant: {POLICY.text}"]
    summary = summarize(lines, max_tokens=40)
    assert summary and len(summary.replace(" ", "")) <= 60
    # One sentence longer than the budget is cut between characters, not dropped.
    assert summarize(["付款" * 60 + "。"], max_tokens=10) == "付款" * 5


def test_chinese_turns_count_about_one_token_per_character() -> None:
    turn = Turn.new("user", "信用证什么时候开立?", datetime.now(UTC))
    assert turn.tokens == 10


def test_citations_a_model_writes_in_chinese_are_resolved() -> None:
    # Full-width comma and enumeration comma (\uff0c, \u3001) inside a marker.
    text = "单价为每吨615美元[2\uff0c3]。信用证须在5月15日前开立[3\u30011]。"
    assert resolve_citations(text, 3) == (
        "单价为每吨615美元[1, 2]。信用证须在5月15日前开立[2, 3]。",
        [1, 2, 0],
    )
