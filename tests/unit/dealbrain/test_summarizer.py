"""Folding a session's turns into its summary: LLM, degradation, idempotency, races."""

from __future__ import annotations

import pytest

from tests.unit.dealbrain.fakes import NOW, FakeChat, FakeExtractive, FakeSessions, metric
from tradebus_dealbrain.domain import Turn
from tradebus_dealbrain.summarizer import SessionSummarizer
from tradebus_resilience import DownstreamHTTPError, DownstreamTimeout

TENANT, SESSION = "tenant-a", "s1"


async def seeded(count: int = 6) -> FakeSessions:
    sessions = FakeSessions()
    roles = ("user", "assistant")
    marks = ("", " [1]")  # answers cite their passages
    await sessions.append(
        TENANT,
        SESSION,
        [
            Turn.new(roles[n % 2], f"Turn {n} about the Acme deal{marks[n % 2]}.", NOW)
            for n in range(count)
        ],
    )
    return sessions


def summarizer(sessions: FakeSessions, chat: FakeChat | None, attempts: int = 3):
    extractive = FakeExtractive()
    return (
        SessionSummarizer(
            sessions=sessions,
            chat=chat,
            extractive=extractive,
            max_tokens=100,
            llm_attempts=attempts,
            timeout=5.0,
        ),
        extractive,
    )


async def test_the_llm_folds_the_turns_into_the_summary() -> None:
    sessions = await seeded()
    chat = FakeChat("Acme deal: turns 0-3 discussed.")
    folder, _ = summarizer(sessions, chat)
    assert await folder.fold(TENANT, SESSION, 3, attempt=1) == "llm"
    doc = sessions.docs[(TENANT, SESSION)]
    assert (doc.summary, doc.summarized_through) == ("Acme deal: turns 0-3 discussed.", 3)
    (messages, max_tokens, _) = chat.calls[0]
    assert "Turn 3 about" in messages[-1].content and "Turn 4" not in messages[-1].content
    assert max_tokens == 100


async def test_a_redelivered_command_does_nothing_twice() -> None:
    sessions = await seeded()
    chat = FakeChat("Gist.")
    folder, _ = summarizer(sessions, chat)
    await folder.fold(TENANT, SESSION, 3, attempt=1)
    before = metric("tradebus_dealbrain_summaries_total", outcome="duplicate")
    assert await folder.fold(TENANT, SESSION, 3, attempt=1) == "duplicate"
    assert await folder.fold(TENANT, SESSION, 2, attempt=1) == "duplicate"
    assert len(chat.calls) == 1
    assert metric("tradebus_dealbrain_summaries_total", outcome="duplicate") == before + 2


async def test_without_an_llm_the_summary_is_extractive() -> None:
    sessions = await seeded()
    folder, extractive = summarizer(sessions, None)
    assert await folder.fold(TENANT, SESSION, 1, attempt=1) == "extractive"
    (texts, _) = extractive.summarized[0]
    # The answers' markers named that ask's passages: they are not folded in.
    assert texts == ["user: Turn 0 about the Acme deal.", "assistant: Turn 1 about the Acme deal."]


async def test_a_transient_llm_failure_is_retried_by_the_runtime_while_attempts_remain() -> None:
    sessions = await seeded()
    folder, _ = summarizer(sessions, FakeChat(error=DownstreamTimeout("llm", "slow")), attempts=3)
    with pytest.raises(DownstreamTimeout):
        await folder.fold(TENANT, SESSION, 3, attempt=2)
    assert sessions.docs[(TENANT, SESSION)].summarized_through == -1


async def test_the_last_attempt_degrades_to_an_extractive_summary() -> None:
    sessions = await seeded()
    folder, _ = summarizer(sessions, FakeChat(error=DownstreamTimeout("llm", "slow")), attempts=3)
    assert await folder.fold(TENANT, SESSION, 3, attempt=3) == "extractive"
    assert sessions.docs[(TENANT, SESSION)].summary.startswith("extractive: ")


async def test_a_client_error_degrades_at_once() -> None:
    sessions = await seeded()
    folder, _ = summarizer(sessions, FakeChat(error=DownstreamHTTPError("llm", 400, "bad")))
    assert await folder.fold(TENANT, SESSION, 3, attempt=1) == "extractive"


async def test_a_lost_compare_and_set_folds_only_what_is_left() -> None:
    sessions = await seeded()
    sessions.lose_next_cas = True  # another summary covering turn 0 lands first
    chat = FakeChat("Merged.")
    folder, _ = summarizer(sessions, chat)
    assert await folder.fold(TENANT, SESSION, 3, attempt=1) == "llm"
    doc = sessions.docs[(TENANT, SESSION)]
    assert doc.summarized_through == 3
    (messages, _, _) = chat.calls[1]
    assert "someone else's" in messages[-1].content and "Turn 0" not in messages[-1].content


async def test_an_unknown_session_is_nothing_to_do() -> None:
    folder, _ = summarizer(FakeSessions(), FakeChat())
    assert await folder.fold("tenant-b", SESSION, 3, attempt=1) == "missing"
