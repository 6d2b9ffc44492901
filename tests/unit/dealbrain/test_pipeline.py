"""The ask pipeline with fakes: degradations, deadline budgeting, citations, empty
recall, sessions."""

from __future__ import annotations

import pytest

from tests.unit.dealbrain.fakes import (
    NOW,
    FakeBM25,
    FakeChat,
    FakeExtractive,
    FakeReranker,
    FakeRetriever,
    FakeSessions,
    FakeStats,
    ManualClock,
    chunk,
    metric,
)
from tradebus_contracts import AskRequest
from tradebus_dealbrain.answering import Answerer
from tradebus_dealbrain.domain import Deadline
from tradebus_dealbrain.pipeline import NOTHING_FOUND, AskPipeline, AskPolicy, RetrievalTimeout
from tradebus_resilience import DownstreamHTTPError, DownstreamTimeout

TENANT = "tenant-a"
DAP = [
    chunk("incoterms", 0, "Under DAP the buyer pays import duty. The seller delivers.", 0.9),
    chunk("incoterms", 1, "Under DDP the seller pays import duty. Risk moves late.", 0.8),
    chunk("payment", 0, "A letter of credit secures payment. Banks check documents.", 0.4),
]


class World:
    def __init__(
        self,
        *,
        chat: FakeChat | None = None,
        reranker: FakeReranker | None = None,
        chunks: list | None = None,
        policy: AskPolicy | None = None,
    ) -> None:
        self.clock = ManualClock()
        self.retriever = FakeRetriever({TENANT: list(DAP if chunks is None else chunks)})
        self.reranker = reranker or FakeReranker()
        self.bm25 = FakeBM25()
        self.extractive = FakeExtractive()
        self.sessions = FakeSessions()
        self.stats = FakeStats()
        self.policy = policy or AskPolicy(answer_reserve=0.25, rerank_timeout=1.5)
        self.chat = chat
        self.pipeline = AskPipeline(
            retriever=self.retriever,
            reranker=self.reranker,
            fallback_reranker=self.bm25,
            answerer=Answerer(
                chat=chat,
                extractive=self.extractive,
                reserve=self.policy.answer_reserve,
                llm_min=0.5,
                max_tokens=256,
                sentences=4,
            ),
            sessions=self.sessions,
            stats=self.stats,
            policy=self.policy,
            clock=self.clock,
            now=lambda: NOW,
        )

    def deadline(self, seconds: float = 5.0) -> Deadline:
        return Deadline.after(seconds, clock=self.clock)

    async def ask(self, question: str = "Who pays import duty under DAP?", **kw):
        deadline = kw.pop("deadline", None) or self.deadline()
        req = AskRequest(tenant_id=TENANT, question=question, **kw)
        return await self.pipeline.ask(req, tenant_id=TENANT, deadline=deadline)


async def test_llm_answer_cites_the_passages_its_markers_name() -> None:
    world = World(chat=FakeChat("The buyer pays [2]; under DDP the seller does [1][9]."))
    reply = (await world.ask(top_k=2)).reply
    # The fake reranker reverses the three candidates and keeps two: passage [1] is
    # payment:0, [2] is incoterms:1. [9] names no passage.
    assert [c.chunk_id for c in reply.citations] == ["incoterms:1", "payment:0"]
    assert reply.answer == "The buyer pays [1]; under DDP the seller does [2]."
    assert reply.degraded == []
    assert reply.retrieved == 3
    assert set(reply.latency_ms) == {"retrieve", "rerank", "answer", "total"}
    first = reply.citations[0]
    assert (first.document_id, first.title) == ("incoterms", "INCOTERMS")
    assert first.snippet.startswith("Under DDP the seller pays")
    assert first.score == 0.8  # the retrieval similarity


async def test_retrieval_fetches_the_rerank_candidates_and_keeps_top_k() -> None:
    world = World(chat=FakeChat(), policy=AskPolicy(rerank_candidates=10, max_top_k=2))
    reply = (await world.ask(top_k=5, filters={"kind": "contract"})).reply
    assert world.retriever.calls == [
        (TENANT, "Who pays import duty under DAP?", 10, {"kind": "contract"})
    ]
    (messages, _, _) = world.chat.calls[0]
    assert messages[0].content.count("\n[") == 2  # top_k capped at max_top_k
    assert reply.retrieved == 3


async def test_without_an_llm_the_extractive_answer_is_the_mode_not_a_degradation() -> None:
    world = World(chat=None)
    reply = (await world.ask()).reply
    assert world.extractive.answered == 1
    assert reply.degraded == []
    assert [c.chunk_id for c in reply.citations] == ["payment:0", "incoterms:1"]
    assert reply.answer.endswith("[2].")


async def test_a_failing_llm_degrades_to_the_extractive_answer() -> None:
    world = World(chat=FakeChat(error=DownstreamHTTPError("llm", 503, "overloaded")))
    reply = (await world.ask()).reply
    assert reply.degraded == ["llm:extractive"]
    assert world.extractive.answered == 1
    assert reply.citations, "the extractive answer still cites its passages"


async def test_an_llm_that_ignores_its_timeout_is_cut_at_the_budget() -> None:
    world = World(chat=FakeChat(hang=True))
    # 0.8 s to the deadline, 0.25 s reserve: the LLM gets 0.55 s (above llm_min 0.5).
    reply = (await world.ask(deadline=world.deadline(0.8))).reply
    assert reply.degraded == ["llm:extractive"]
    assert world.chat.calls[0][2] == pytest.approx(0.55)


async def test_downstream_calls_get_the_remaining_time_minus_the_reserve() -> None:
    world = World(chat=FakeChat())
    deadline = world.deadline(3.0)
    world.clock.advance(0.5)  # spent in the queue and in retrieval
    await world.ask(deadline=deadline)
    assert world.reranker.timeouts == [pytest.approx(1.5)]  # capped by rerank_timeout
    assert world.chat.calls[0][2] == pytest.approx(3.0 - 0.5 - 0.25)


async def test_no_llm_call_when_it_would_not_fit_the_deadline() -> None:
    chat = FakeChat()
    world = World(chat=chat)
    reply = (await world.ask(deadline=world.deadline(0.6))).reply  # 0.35 s < llm_min
    assert chat.calls == []
    assert reply.degraded == ["llm:extractive"]
    assert reply.answer


async def test_a_failing_reranker_degrades_to_bm25() -> None:
    world = World(chat=FakeChat(), reranker=FakeReranker(DownstreamTimeout("rerank", "slow")))
    before = metric("tradebus_dealbrain_degraded_total", degradation="rerank:bm25")
    reply = (await world.ask(top_k=2)).reply
    assert reply.degraded == ["rerank:bm25"]
    assert world.bm25.calls == 1
    # BM25 ranks the DAP passage first for a DAP question.
    (messages, _, _) = world.chat.calls[0]
    assert "[1] INCOTERMS\nUnder DAP" in messages[0].content
    assert metric("tradebus_dealbrain_degraded_total", degradation="rerank:bm25") == before + 1


async def test_both_degradations_are_reported_together() -> None:
    world = World(
        chat=FakeChat(error=DownstreamTimeout("llm", "slow")),
        reranker=FakeReranker(DownstreamHTTPError("rerank", 500, "boom")),
    )
    reply = (await world.ask()).reply
    assert reply.degraded == ["rerank:bm25", "llm:extractive"]


async def test_an_empty_retrieval_is_counted_and_answered_without_the_llm() -> None:
    chat = FakeChat()
    world = World(chat=chat, chunks=[])
    before = metric("tradebus_dealbrain_retrievals_total", outcome="empty")
    reply = (await world.ask()).reply
    assert reply.answer == NOTHING_FOUND
    assert reply.citations == [] and reply.retrieved == 0
    assert chat.calls == []
    assert metric("tradebus_dealbrain_retrievals_total", outcome="empty") == before + 1
    assert world.stats.recorded == [(TENANT, True, NOW)]


async def test_chunks_not_above_the_minimum_score_are_not_evidence() -> None:
    weak = [chunk("noise", 0, "Unrelated words here.", 0.0)]
    world = World(chat=FakeChat(), chunks=weak, policy=AskPolicy(min_score=0.0))
    reply = (await world.ask()).reply
    assert reply.answer == NOTHING_FOUND
    assert world.stats.recorded == [(TENANT, True, NOW)]


async def test_a_hit_is_counted_too() -> None:
    world = World(chat=FakeChat())
    before = metric("tradebus_dealbrain_retrievals_total", outcome="hit")
    await world.ask()
    assert metric("tradebus_dealbrain_retrievals_total", outcome="hit") == before + 1
    assert world.stats.recorded == [(TENANT, False, NOW)]


async def test_a_stats_failure_never_fails_the_ask() -> None:
    world = World(chat=FakeChat())
    world.stats.error = ConnectionError("mongo down")
    reply = (await world.ask()).reply
    assert reply.answer and reply.degraded == []


async def test_retrieval_past_the_deadline_fails_fast_and_retryably() -> None:
    world = World(chat=FakeChat())
    world.retriever.hang = True
    with pytest.raises(RetrievalTimeout):
        await world.ask(deadline=world.deadline(0.3))


async def test_the_session_context_goes_into_the_prompt() -> None:
    world = World(chat=FakeChat())
    await world.ask("Who pays import duty under DAP?", session_id="s1")
    await world.ask("And under DDP?", session_id="s1")
    (messages, _, _) = world.chat.calls[1]
    assert [m.role for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1].content == "Who pays import duty under DAP?"
    assert messages[-1].content == "And under DDP?"
    doc = world.sessions.docs[(TENANT, "s1")]
    assert [(t.n, t.role) for t in doc.turns] == [
        (0, "user"),
        (1, "assistant"),
        (2, "user"),
        (3, "assistant"),
    ]


async def test_another_tenants_session_is_a_new_session() -> None:
    world = World(chat=FakeChat())
    await world.ask("Secret plan for the Acme deal?", session_id="s1")
    world.sessions.docs[("tenant-b", "s1")] = world.sessions.docs.pop((TENANT, "s1"))
    await world.ask("What did I ask before?", session_id="s1")
    (messages, _, _) = world.chat.calls[1]
    assert [m.role for m in messages] == ["system", "user"]  # nothing of tenant-b's


async def test_a_session_past_the_threshold_asks_for_a_summary() -> None:
    world = World(
        chat=FakeChat("Short [1]."),
        policy=AskPolicy(session_token_threshold=20, recent_turns=2),
    )
    first = await world.ask("Who pays import duty under DAP?", session_id="s1")
    assert first.summarize is None
    second = await world.ask(
        "And who carries the risk during the main carriage under DAP terms?", session_id="s1"
    )
    assert second.summarize is not None
    assert second.summarize.through_turn == 1  # all but the two newest turns
    assert second.summarize.tenant_id == TENANT
    assert second.summarize_message_id == f"summarize:{TENANT}:s1:1"
    assert second.reply.session_id == "s1"


async def test_a_session_write_failure_is_reported_not_raised() -> None:
    world = World(chat=FakeChat())
    world.sessions.fail_append = ConnectionError("mongo down")
    outcome = await world.ask(session_id="s1")
    assert outcome.reply.degraded == ["session:unsaved"]
    assert outcome.summarize is None
