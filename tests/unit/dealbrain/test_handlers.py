"""The thin handlers: tenant checks, and the summary request after an ask."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.unit.dealbrain.fakes import (
    FakeBM25,
    FakeChat,
    FakeExtractive,
    FakeReranker,
    FakeRetriever,
    FakeSessions,
    FakeStats,
    chunk,
)
from tradebus_contracts import AskRequest, Contract, Envelope, SummarizeSession
from tradebus_dealbrain.answering import Answerer
from tradebus_dealbrain.handlers import AskHandler
from tradebus_dealbrain.pipeline import AskPipeline, AskPolicy
from tradebus_messaging import MessageContext, PermanentError

TENANT = "tenant-a"


class Published:
    def __init__(self, error: Exception | None = None) -> None:
        self.messages: list[tuple[Contract, str | None]] = []
        self.error = error

    async def __call__(self, payload: Contract, **kw: Any) -> Envelope:
        if self.error is not None:
            raise self.error
        self.messages.append((payload, kw.get("message_id")))
        return Envelope(type=payload.message_type, source="test")


def context(publish: Published, *, tenant: str | None = TENANT) -> MessageContext:
    return MessageContext(
        envelope=Envelope(type=AskRequest.message_type, source="test", tenant_id=tenant),
        queue="dealbrain.ask",
        attempt=1,
        redelivered=False,
        deadline=datetime.now(UTC) + timedelta(seconds=10),
        session=None,
        _publish=publish,
    )


def handler(threshold: int = 10_000) -> AskHandler:
    pipeline = AskPipeline(
        retriever=FakeRetriever({TENANT: [chunk("d", 0, "The buyer pays import duty.", 0.9)]}),
        reranker=FakeReranker(),
        fallback_reranker=FakeBM25(),
        answerer=Answerer(
            chat=FakeChat("The buyer pays import duty under DAP terms [1]."),
            extractive=FakeExtractive(),
            reserve=0.25,
            llm_min=0.5,
            max_tokens=128,
            sentences=4,
        ),
        sessions=FakeSessions(),
        stats=FakeStats(),
        policy=AskPolicy(session_token_threshold=threshold, recent_turns=0),
    )
    return AskHandler(pipeline, default_deadline_seconds=15)


async def test_a_session_past_the_threshold_publishes_a_summary_command() -> None:
    publish = Published()
    ask = handler(threshold=5)
    req = AskRequest(tenant_id=TENANT, question="Who pays import duty?", session_id="s1")
    reply = await ask(req, context(publish))
    assert reply.session_id == "s1" and reply.citations
    assert publish.messages == [
        (
            SummarizeSession(tenant_id=TENANT, session_id="s1", through_turn=1),
            f"summarize:{TENANT}:s1:1",
        )
    ]


async def test_below_the_threshold_nothing_is_published() -> None:
    publish = Published()
    req = AskRequest(tenant_id=TENANT, question="Who pays import duty?", session_id="s1")
    await handler()(req, context(publish))
    assert publish.messages == []


async def test_a_failed_summary_request_still_answers() -> None:
    publish = Published(error=ConnectionError("broker away"))
    req = AskRequest(tenant_id=TENANT, question="Who pays import duty?", session_id="s1")
    reply = await handler(threshold=5)(req, context(publish))
    assert reply.answer.startswith("The buyer pays")


async def test_a_body_naming_another_tenant_than_the_envelope_is_refused() -> None:
    req = AskRequest(tenant_id="tenant-b", question="Who pays import duty?")
    with pytest.raises(PermanentError) as info:
        await handler()(req, context(Published()))
    assert info.value.code == "forbidden"
