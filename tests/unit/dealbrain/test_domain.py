"""Pure domain: citation markers, deadlines, prompts and when a session is due."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.dealbrain.fakes import NOW, ManualClock
from tradebus_dealbrain.domain import (
    Deadline,
    SessionState,
    StoredSession,
    Turn,
    grounded_messages,
    recent_context,
    resolve_citations,
    summarize_through,
    turns_to_fold,
)
from tradebus_providers.types import Passage


@pytest.mark.parametrize(
    ("text", "expected_text", "expected_order"),
    [
        ("A [3]. B [1].", "A [1]. B [2].", [2, 0]),
        ("A [2][2] and [2].", "A [1][1] and [1].", [1]),
        ("A [1, 3].", "A [1, 2].", [0, 2]),
        ("A [2-3].", "A [1, 2].", [1, 2]),
        ("A [1; 9].", "A [1].", [0]),
        ("A [7]. B.", "A. B.", []),
        ("No markers at all.", "No markers at all.", []),
        ("In [2024] the rate rose [1].", "In [2024] the rate rose [1].", [0]),
    ],
)
def test_markers_are_renumbered_in_citation_order(
    text: str, expected_text: str, expected_order: list[int]
) -> None:
    assert resolve_citations(text, 3) == (expected_text, expected_order)


def test_without_markers_the_fallback_order_is_used() -> None:
    assert resolve_citations("Quoted text.", 3, fallback=[2, 0, 2, 5]) == ("Quoted text.", [2, 0])


def test_the_remaining_budget_keeps_the_reserve_back() -> None:
    clock = ManualClock()
    deadline = Deadline.after(2.0, clock=clock)
    assert deadline.budget(0.25) == pytest.approx(1.75)
    assert deadline.budget(0.25, cap=1.0) == pytest.approx(1.0)
    clock.advance(1.9)
    assert deadline.budget(0.25) == 0.0
    assert deadline.remaining() == pytest.approx(0.1)


def test_a_wall_clock_deadline_becomes_a_monotonic_one() -> None:
    clock = ManualClock()
    deadline = Deadline.from_wall_clock(
        NOW + timedelta(seconds=3), default_seconds=15, now=NOW, clock=clock
    )
    assert deadline.remaining() == pytest.approx(3.0)
    assert Deadline.from_wall_clock(None, default_seconds=15, clock=clock).remaining() == 15


def test_the_grounded_prompt_numbers_passages_after_the_rules() -> None:
    passages = [Passage("d:0", "The buyer pays.", "Incoterms"), Passage("d:1", "Risk moves.")]
    history = [Turn("user", "Hi [1]", NOW, 1, 0), Turn("assistant", "Hello [2].", NOW, 1, 1)]
    messages = grounded_messages(
        "Who pays?", passages, summary="Talked about DAP.", history=history
    )
    system = messages[0].content
    assert system.index("only the numbered passages") < system.index("Talked about DAP.")
    assert system.endswith("[1] Incoterms\nThe buyer pays.\n\n[2]\nRisk moves.")
    assert [(m.role, m.content) for m in messages[1:]] == [
        ("user", "Hi [1]"),
        ("assistant", "Hello."),  # its marker named another ask's passage
        ("user", "Who pays?"),
    ]


def turns(count: int, tokens: int = 10) -> tuple[Turn, ...]:
    roles = ("user", "assistant")
    return tuple(Turn(roles[n % 2], f"turn {n}", NOW, tokens, n) for n in range(count))


def test_a_session_is_due_once_its_pending_tokens_pass_the_threshold() -> None:
    assert summarize_through(SessionState(6, -1, 100), threshold=100, keep_recent=2) is None
    assert summarize_through(SessionState(6, -1, 101), threshold=100, keep_recent=2) == 3
    # The newest turns are all that is pending: nothing older to fold.
    assert summarize_through(SessionState(6, 3, 500), threshold=100, keep_recent=2) is None


def test_the_context_holds_only_unsummarised_recent_turns() -> None:
    context = recent_context("gist", list(turns(8)), summarized_through=5, keep=4)
    assert [t.n for t in context.recent] == [6, 7]
    assert recent_context("gist", list(turns(8)), 5, keep=0).recent == ()


def test_folding_takes_the_turns_after_the_summary_up_to_through() -> None:
    session = StoredSession("gist", 1, turns(6))
    assert [t.n for t in turns_to_fold(session, 3)] == [2, 3]
    assert turns_to_fold(session, 1) == []
