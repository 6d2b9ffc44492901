"""The assess flow with fakes: evidence from search and the knowledge base, the score as
the sum of contributions, and the rationale with and without an LLM."""

from __future__ import annotations

import pytest

from tests.unit.shadowhunter.fakes import FakeChat, FakeIndex, FakeSearch, HangingSearch, result
from tests.unit.shadowhunter.samples import NOTES_CHUNKS
from tradebus_contracts import AssessRequest
from tradebus_resilience import (
    Downstream,
    DownstreamError,
    DownstreamHTTPError,
    DownstreamSettings,
    DownstreamTimeout,
)
from tradebus_retrieval import RetrievedChunk
from tradebus_shadowhunter.adapters import KnowledgeBaseSearch
from tradebus_shadowhunter.assessing import RATIONALE_SKIPPED, Assessor
from tradebus_shadowhunter.domain.rubric import RubricPolicy
from tradebus_shadowhunter.fanout import Deadline, FanOutGate
from tradebus_shadowhunter.settings import RubricWeights

NAME = "Hai Phong Steel JSC"
REQUEST = AssessRequest(tenant_id="t1", counterparty=NAME, country="Vietnam")
WEB = [
    result("x", "Hai Phong Steel JSC - Official site", "https://haiphongsteel.com.vn", "Coil."),
    result("x", "Steel news", "https://steelnews.example/a", "Hai Phong Steel JSC expands"),
    result("x", "Unrelated", "https://other.example", "Nothing to see"),
]
CHUNKS = [
    RetrievedChunk(
        "d1:0", "d1", "Call notes", "We agreed CIF terms with Hai Phong Steel JSC.", 0.7
    ),
    RetrievedChunk("d2:3", "d2", "Price list", "Cold rolled coil prices for Q3.", 0.4),
]


def assessor(*providers, chat=None, index=None, kb=True) -> Assessor:
    knowledge = KnowledgeBaseSearch(
        index or FakeIndex("t1", CHUNKS), Downstream("kb-test", DownstreamSettings())
    )
    return Assessor(
        providers=providers,
        knowledge_base=knowledge if kb else None,
        chat=chat,
        gate=FanOutGate(4),
        policy=RubricPolicy(weights=RubricWeights().model_dump()),
        result_limit=10,
        kb_k=8,
        evidence_limit=10,
        rationale_max_tokens=200,
    )


def deadline(seconds: float = 5.0) -> Deadline:
    return Deadline.of(None, default_seconds=seconds, reserve_seconds=0.0)


async def test_evidence_comes_from_search_and_the_knowledge_base() -> None:
    web1 = FakeSearch("web1", WEB)
    reply = await assessor(web1).assess(REQUEST, deadline())
    assert web1.queries == [
        '"Hai Phong Steel JSC" Vietnam',
        '"Hai Phong Steel JSC" sanctions fraud lawsuit',
    ]
    sources = {(e.source, e.url or e.document_id) for e in reply.evidence}
    assert ("search", "https://haiphongsteel.com.vn") in sources
    assert ("knowledge_base", "d1") in sources
    assert ("knowledge_base", "d2") not in sources  # near the query, but never names it
    assert ("search", "https://other.example") not in sources  # shares no name with it
    assert len(reply.evidence) == len(sources)  # both queries' copies of a page: one item
    assert reply.score == pytest.approx(sum(f.contribution for f in reply.factors))
    history = next(f for f in reply.factors if f.name == "relationship_history")
    assert history.value > 0 and "'Call notes'" in history.explanation
    assert not reply.partial and reply.degraded == []
    assert {"search:web1", "knowledge_base", "search", "rubric", "total"} <= set(reply.latency_ms)


async def test_without_an_llm_the_rationale_is_composed_from_the_factors() -> None:
    reply = await assessor(FakeSearch("web1", WEB)).assess(REQUEST, deadline())
    assert reply.rationale is not None and reply.rationale.startswith(NAME)
    assert all(f.explanation in reply.rationale for f in reply.factors)
    assert RATIONALE_SKIPPED not in reply.degraded


async def test_the_llm_rationale_is_grounded_in_the_numbered_evidence() -> None:
    chat = FakeChat(reply="  Named by its own site [1].  ")
    reply = await assessor(FakeSearch("web1", WEB), chat=chat).assess(REQUEST, deadline())
    assert reply.rationale == "Named by its own site [1]."
    (messages,) = chat.asked
    prompt = messages[-1].content
    assert "[1]" in prompt and "haiphongsteel.com.vn" in prompt and "Call notes" in prompt
    assert f"Score: {reply.score:g}/100" in prompt


@pytest.mark.parametrize(
    "error",
    [DownstreamTimeout("llm", "slow"), DownstreamHTTPError("llm", 500, "boom")],
)
async def test_a_failing_llm_skips_the_rationale(error: DownstreamError) -> None:
    chat = FakeChat(error=error)
    reply = await assessor(FakeSearch("web1", WEB), chat=chat).assess(REQUEST, deadline())
    assert reply.rationale is None
    assert reply.degraded == [RATIONALE_SKIPPED] and not reply.partial
    assert reply.score > 0  # the assessment itself stands


async def test_no_time_left_for_the_llm_skips_the_rationale() -> None:
    chat = FakeChat()
    hanging = HangingSearch("web2")
    reply = await assessor(FakeSearch("web1", WEB), hanging, chat=chat).assess(
        REQUEST, deadline(0.2)
    )
    assert chat.asked == []  # the hanging search used up the time
    assert reply.rationale is None
    assert reply.degraded == ["search:web2:timeout", RATIONALE_SKIPPED] and reply.partial


async def test_no_rationale_asked_means_none_and_no_degradation() -> None:
    chat = FakeChat()
    request = REQUEST.model_copy(update={"rationale": False})
    reply = await assessor(FakeSearch("web1", WEB), chat=chat).assess(request, deadline())
    assert reply.rationale is None and reply.degraded == [] and chat.asked == []


async def test_a_failing_knowledge_base_is_partial_and_search_still_counts() -> None:
    index = FakeIndex("t1", CHUNKS, error=RuntimeError("mongodb down"))
    reply = await assessor(FakeSearch("web1", WEB), index=index).assess(REQUEST, deadline())
    assert reply.partial and reply.degraded == ["knowledge_base:error"]
    assert all(e.source == "search" for e in reply.evidence)
    assert next(f for f in reply.factors if f.name == "identity").value > 0


async def test_with_no_web_search_the_assessment_runs_on_the_knowledge_base() -> None:
    reply = await assessor().assess(REQUEST, deadline())
    assert [e.document_id for e in reply.evidence] == ["d1"]
    assert not reply.partial
    assert reply.band == "low"  # the tenant's own notes alone do not establish identity


async def test_the_notes_about_the_counterparty_count_and_a_neighbours_do_not() -> None:
    """The account notes as omnirag-ingest chunks them: Hai Phong Steel's passage runs past
    its name to the dispute; Saigon Coil Trading's never reaches it."""
    chunks = [
        RetrievedChunk(f"n:{i}", "notes", "steel buyers southeast asia", text, 0.5)
        for i, text in enumerate(NOTES_CHUNKS)
    ]
    index = FakeIndex("t1", chunks)
    reply = await assessor(index=index).assess(REQUEST, deadline())
    factors = {f.name: f for f in reply.factors}
    assert factors["adverse_media"].value == 0.5
    assert "customs valuation/dispute/under declared" in factors["adverse_media"].explanation
    assert factors["web_presence"].value == 0.5
    assert "haiphongsteel.example" in factors["web_presence"].explanation
    assert factors["relationship_history"].value > 0
    # Two chunks name it (one only as the heading the chunker cut off): one passage.
    [evidence] = reply.evidence
    assert evidence.snippet.startswith("Hai Phong Steel JSC imports")
    assert "under-declared invoices" in evidence.snippet and "Mekong" not in evidence.snippet

    saigon = AssessRequest(tenant_id="t1", counterparty="Saigon Coil Trading")
    clean = {f.name: f for f in (await assessor(index=index).assess(saigon, deadline())).factors}
    assert clean["adverse_media"].value == 1.0
