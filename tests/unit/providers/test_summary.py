"""The extractive summary that folds long conversations."""

from __future__ import annotations

import pytest

from tradebus_knowledge import count_tokens
from tradebus_providers import ExtractiveAnswerer, summarize

TURNS = [
    ["user: We are quoting a solar inverter order for a buyer in Kenya.", "Which Incoterm fits?"],
    [
        "assistant: For containerised cargo prefer FCA, CPT or CIP over FOB.",
        "CIP Nairobi keeps the insurance with us and the risk passes at the first carrier.",
    ],
    ["user: The buyer wants to pay by letter of credit.", "Is that acceptable?"],
    [
        "assistant: Yes.",
        "New international customers start on payment in advance or a confirmed irrevocable "
        "letter of credit.",
        "The credit must be issued under UCP 600.",
    ],
    ["user: Thanks."],
    ["user: What presentation period should the letter of credit allow?"],
    [
        "assistant: At least 21 days after shipment, and the documentary requirements of the "
        "credit must match the Incoterms rule."
    ],
]
CONVERSATION = [" ".join(turn) for turn in TURNS]
SENTENCES = [sentence for turn in TURNS for sentence in turn]


@pytest.mark.parametrize("budget", [12, 25, 40, 60, 90])
def test_the_summary_fits_the_budget_and_keeps_the_original_order(budget: int) -> None:
    summary = summarize(CONVERSATION, max_tokens=budget)
    assert summary and count_tokens(summary) <= budget
    kept = [sentence for sentence in SENTENCES if sentence in summary]
    assert " ".join(kept) == summary  # whole sentences, verbatim, in conversation order


def test_the_gist_survives_and_small_talk_does_not() -> None:
    summary = summarize(CONVERSATION, max_tokens=40)
    assert "letter of credit" in summary
    assert "Thanks" not in summary


def test_everything_is_kept_when_it_fits() -> None:
    text = ["user: Hello there.", "assistant: FCA is Free Carrier."]
    assert summarize(text, max_tokens=100) == "user: Hello there. assistant: FCA is Free Carrier."


def test_repeated_sentences_are_kept_once() -> None:
    repeated = ["The order ships FCA Rotterdam in March."] * 4 + [
        "Payment is by confirmed letter of credit under UCP 600."
    ]
    summary = summarize(repeated, max_tokens=25)
    assert summary.count("FCA Rotterdam") == 1 and "UCP 600" in summary


def test_a_sentence_longer_than_the_budget_is_cut_at_a_word() -> None:
    long = "Incoterms decide where delivery happens, who pays which costs and when risk passes."
    summary = summarize([long, long + " Again."], max_tokens=6)
    words = long.split()
    cut = len(summary.split())
    assert cut >= 1 and summary == " ".join(words[:cut])
    assert count_tokens(summary) <= 6 < count_tokens(" ".join(words[: cut + 1]))


def test_nothing_to_say() -> None:
    assert summarize([], max_tokens=50) == ""
    assert summarize(["Something."], max_tokens=0) == ""
    assert ExtractiveAnswerer().summarize(CONVERSATION, max_tokens=30) == summarize(
        CONVERSATION, max_tokens=30
    )
