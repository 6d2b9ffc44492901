"""The recall patrol with fakes: questions in, ranks out, one record per slot, the LLM
only when configured (retried, then offline), and the handler's fan-out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.unit.dealbrain.fakes import FakeBM25, FakeChat, FakeReranker
from tradebus_contracts import Contract, Envelope, EvaluateRecall, RecallEvaluated
from tradebus_dealbrain.handlers import EvaluateRecallHandler
from tradebus_dealbrain.recall import RecallPatrol, RecallPolicy, RetryQuestions
from tradebus_dealbrain.reranking import Reranking
from tradebus_knowledge import bm25_rerank
from tradebus_messaging import MessageContext, PermanentError
from tradebus_resilience import DownstreamError
from tradebus_retrieval import RetrievedChunk
from tradebus_storage import RecallRun, StoredChunk

SLOT = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
AT = datetime(2026, 12, 2, 3, 0, 42, tzinfo=UTC)
TEXTS = [
    "Under DAP the seller delivers the goods to the named place of destination.",
    "The buyer pays import duty and clears the goods for import under DAP.",
    "A confirmed letter of credit protects the exporter against buyer default.",
    "The advising bank checks the presentation of documents against the credit terms.",
    "Reefer containers keep perishable cargo at a set temperature in transit.",
    "Demurrage is charged when a container stays at the terminal past the free days.",
]


class FakeCorpus:
    def __init__(self, by_tenant: Mapping[str, list[str]]) -> None:
        self.chunks = {
            t: [StoredChunk(f"{t}-doc:{i}", f"{t}-doc", i, text) for i, text in enumerate(texts)]
            for t, texts in by_tenant.items()
        }

    async def tenants(self) -> list[str]:
        return sorted(t for t, c in self.chunks.items() if c)

    async def searchable_chunk_ids(self, tenant_id: str) -> list[str]:
        return [c.id for c in self.chunks.get(tenant_id, [])]

    async def load(self, tenant_id: str, ids: Sequence[str]) -> list[StoredChunk]:
        by_id = {c.id: c for c in self.chunks.get(tenant_id, [])}
        return [by_id[i] for i in ids if i in by_id]


class LexicalRetriever:
    """A tenant's chunks ranked by BM25: a real ranking, small enough for a unit test."""

    def __init__(self, corpus: FakeCorpus) -> None:
        self.corpus = corpus
        self.queries: list[tuple[str, str, int]] = []

    async def search(
        self, tenant_id: str, query: str, k: int, *, filters: Mapping[str, str] | None = None
    ) -> list[RetrievedChunk]:
        self.queries.append((tenant_id, query, k))
        chunks = self.corpus.chunks.get(tenant_id, [])
        order = bm25_rerank(query, [c.text for c in chunks])[:k]
        return [
            RetrievedChunk(chunks[i].id, chunks[i].document_id, "", chunks[i].text, s)
            for i, s in order
        ]


class FakeStore:
    def __init__(self) -> None:
        self.runs: dict[tuple[str, datetime, int], RecallRun] = {}

    async def record(self, run: RecallRun) -> None:
        self.runs[(run.tenant_id, run.slot, run.k)] = run

    async def get(self, tenant_id: str, slot: datetime, k: int) -> RecallRun | None:
        return self.runs.get((tenant_id, slot, k))


def patrol(
    corpus: FakeCorpus,
    *,
    chat: FakeChat | None = None,
    reranker: Any = None,
    retriever: LexicalRetriever | None = None,
    **policy: Any,
) -> tuple[RecallPatrol, LexicalRetriever, FakeStore]:
    retriever, store = retriever or LexicalRetriever(corpus), FakeStore()
    fallback = FakeBM25()
    instance = RecallPatrol(
        corpus=corpus,
        retriever=retriever,
        reranking=Reranking(reranker or fallback, fallback, reserve=0.0, cap=1.0),
        chat=chat,
        store=store,
        embedder="hashing-384",
        policy=RecallPolicy(rerank_candidates=4, **policy),
        now=lambda: AT,
    )
    return instance, retriever, store


async def test_offline_questions_find_their_chunks_and_the_run_is_recorded() -> None:
    corpus = FakeCorpus({"a": TEXTS})
    p, retriever, store = patrol(corpus, threshold=0.5)
    event = await p.evaluate("a", slot=SLOT, sample_size=4, k=2)
    assert isinstance(event, RecallEvaluated)
    assert (event.tenant_id, event.slot, event.at, event.k) == ("a", SLOT, AT, 2)
    assert event.samples == 4 and event.method == "offline" and event.embedder == "hashing-384"
    assert event.recall_at_k >= 0.75 and 0 < event.mrr <= 1
    assert event.below_threshold is False
    # Every question went through the ask's candidate count, for the tenant asked.
    assert len(retriever.queries) == 4
    assert {(t, k) for t, _, k in retriever.queries} == {("a", 4)}
    run = store.runs[("a", SLOT, 2)]
    assert (run.recall_at_k, run.mrr, run.samples) == (event.recall_at_k, event.mrr, 4)


async def test_a_redelivered_slot_is_not_measured_twice() -> None:
    corpus = FakeCorpus({"a": TEXTS})
    p, retriever, _ = patrol(corpus)
    first = await p.evaluate("a", slot=SLOT, sample_size=3, k=5)
    asked = len(retriever.queries)
    again = await p.evaluate("a", slot=SLOT, sample_size=3, k=5)
    assert again == first
    assert len(retriever.queries) == asked


async def test_a_retrieval_that_misses_scores_low_and_is_flagged() -> None:
    class Nothing(LexicalRetriever):
        async def search(self, tenant_id: str, query: str, k: int, **_: Any) -> Any:
            return []

    corpus = FakeCorpus({"a": TEXTS})
    p, _, store = patrol(corpus, retriever=Nothing(corpus), threshold=0.7)
    event = await p.evaluate("a", slot=SLOT, sample_size=3, k=5)
    assert event is not None
    assert (event.recall_at_k, event.mrr) == (0.0, 0.0)
    assert event.below_threshold and store.runs[("a", SLOT, 5)].below_threshold


async def test_a_tenant_without_searchable_chunks_records_nothing() -> None:
    p, _, store = patrol(FakeCorpus({"a": []}))
    assert await p.evaluate("a", slot=SLOT, sample_size=5, k=5) is None
    assert store.runs == {}


async def test_the_llm_writes_the_questions_when_configured() -> None:
    chat = FakeChat(reply="Who pays import duty under DAP?")
    p, retriever, _ = patrol(FakeCorpus({"a": TEXTS}), chat=chat)
    event = await p.evaluate("a", slot=SLOT, sample_size=3, k=5)
    assert event is not None and event.method == "llm"
    assert len(chat.calls) == 3
    assert {q for _, q, _ in retriever.queries} == {"Who pays import duty under DAP?"}


async def test_llm_questions_can_be_switched_off() -> None:
    chat = FakeChat(reply="Who pays?")
    p, _, _ = patrol(FakeCorpus({"a": TEXTS}), chat=chat, use_llm=False)
    event = await p.evaluate("a", slot=SLOT, sample_size=2, k=5)
    assert event is not None and event.method == "offline" and chat.calls == []


async def test_a_failing_llm_is_retried_then_the_questions_are_offline() -> None:
    chat = FakeChat(error=DownstreamError("llm", "HTTP 503"))
    p, _, store = patrol(FakeCorpus({"a": TEXTS}), chat=chat, llm_attempts=2)
    with pytest.raises(RetryQuestions):
        await p.evaluate("a", slot=SLOT, sample_size=2, k=5, attempt=1)
    assert store.runs == {}
    event = await p.evaluate("a", slot=SLOT, sample_size=2, k=5, attempt=2)
    assert event is not None and event.method == "offline" and event.samples == 2


async def test_a_failing_reranker_degrades_to_bm25_and_says_so() -> None:
    p, _, store = patrol(
        FakeCorpus({"a": TEXTS}), reranker=FakeReranker(error=DownstreamError("rerank", "down"))
    )
    await p.evaluate("a", slot=SLOT, sample_size=2, k=5)
    assert store.runs[("a", SLOT, 5)].degraded == ["rerank:bm25"]


# -- the handler ---------------------------------------------------------------


class Published:
    def __init__(self) -> None:
        self.messages: list[tuple[Contract, str | None, str | None]] = []

    async def __call__(self, payload: Contract, **kw: Any) -> Envelope:
        self.messages.append((payload, kw.get("tenant_id"), kw.get("message_id")))
        return Envelope(type=payload.message_type, source="test")


def context(tenant_id: str | None = None, attempt: int = 1) -> MessageContext:
    async def never(*_: Any, **__: Any) -> Envelope:
        raise AssertionError("the handler publishes through the bus")

    return MessageContext(
        envelope=Envelope(type=EvaluateRecall.message_type, source="test", tenant_id=tenant_id),
        queue="dealbrain.recall",
        attempt=attempt,
        redelivered=False,
        deadline=None,
        session=None,
        _publish=never,
    )


async def test_a_command_for_every_tenant_fans_out_one_per_tenant() -> None:
    p, retriever, _ = patrol(FakeCorpus({"a": TEXTS, "b": TEXTS[:2], "empty": []}))
    published = Published()
    await EvaluateRecallHandler(p, published)(EvaluateRecall(slot=SLOT), context())
    assert retriever.queries == []
    assert [(m.tenant_id, t) for m, t, _ in published.messages] == [("a", "a"), ("b", "b")]
    ids = [i for _, _, i in published.messages]
    assert ids == [f"recall:{t}:{SLOT.isoformat()}:50:5" for t in ("a", "b")]


async def test_a_tenant_command_publishes_its_result_for_that_tenant() -> None:
    p, _, _ = patrol(FakeCorpus({"a": TEXTS}))
    published = Published()
    await EvaluateRecallHandler(p, published)(
        EvaluateRecall(slot=SLOT, tenant_id="a", sample_size=3), context("a")
    )
    [(event, tenant, message_id)] = published.messages
    assert isinstance(event, RecallEvaluated) and event.tenant_id == "a" and tenant == "a"
    assert message_id == f"recall-evaluated:a:{SLOT.isoformat()}:5"


async def test_a_command_naming_another_tenant_than_its_envelope_is_refused() -> None:
    p, _, _ = patrol(FakeCorpus({"a": TEXTS}))
    with pytest.raises(PermanentError):
        await EvaluateRecallHandler(p, Published())(
            EvaluateRecall(slot=SLOT, tenant_id="a"), context("b")
        )
