"""Index refresh by event on every replica, and conversation sessions summarised off the
request path by the `dealbrain.summarize` consumer."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.integration.dealbrain.conftest import eventually
from tests.integration.retrieval.knowledge import INCOTERMS, PAYMENT, index_document
from tests.support.infra import MANAGEMENT_URL
from tradebus_contracts import AskReply, AskRequest, DocumentIndexed, SummarizeSession
from tradebus_dealbrain.app import SUMMARIZE_QUEUE

pytestmark = pytest.mark.integration

LC_QUESTION = "What protects the exporter against buyer default?"


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def ask(dealbrain, tenant: str, question: str, **kw) -> AskReply:
    reply = await dealbrain.client.request(
        AskRequest(tenant_id=tenant, question=question, **kw), timeout=5, tenant_id=tenant
    )
    assert isinstance(reply, AskReply)
    return reply


async def queue_arguments(amqp_url: str, queue: str) -> dict:
    vhost = unquote(urlsplit(amqp_url).path.lstrip("/"))
    url = httpx.URL(MANAGEMENT_URL)
    async with httpx.AsyncClient(
        base_url=str(url.copy_with(username=None, password=None)),
        auth=(url.username or "guest", url.password or "guest"),
    ) as api:
        response = await api.get(f"/api/queues/{vhost}/{queue}")
        response.raise_for_status()
        return response.json()["arguments"]


def indexed(tenant: str, document_id: str, chunks: list[str]) -> DocumentIndexed:
    return DocumentIndexed(
        tenant_id=tenant,
        document_id=document_id,
        task_id=f"task-{document_id}",
        title=document_id,
        chunk_count=len(chunks),
        indexed_at=datetime.now(UTC),
    )


async def test_an_indexed_event_makes_a_new_document_searchable_without_a_restart(
    start_dealbrain, unique
) -> None:
    dealbrain = await start_dealbrain(llm=None, rerank=None, index_refresh_seconds=3600)
    tenant = f"a-{unique}"
    await index_document(dealbrain.db, tenant, "incoterms", "Incoterms 2020", INCOTERMS)
    before = await ask(dealbrain, tenant, LC_QUESTION)  # loads the tenant's index
    assert all(c.document_id == "incoterms" for c in before.citations)
    loads = counter("tradebus_retrieval_index_loads_total")

    queue = f"dealbrain.index-refresh.{unique}-0"
    acked = counter("tradebus_messages_total", queue=queue, outcome="acked")
    chunks = await index_document(dealbrain.db, tenant, "payment", "Payment terms", PAYMENT)
    await dealbrain.client.publish(indexed(tenant, "payment", chunks), tenant_id=tenant)
    await eventually(
        lambda: counter("tradebus_messages_total", queue=queue, outcome="acked") == acked + 1
    )
    after = await ask(dealbrain, tenant, LC_QUESTION)
    assert after.citations[0].document_id == "payment"
    assert counter("tradebus_retrieval_index_loads_total") == loads  # updated in place


async def test_every_replica_gets_every_indexed_event_on_a_queue_of_its_own(
    start_dealbrain, unique
) -> None:
    first = await start_dealbrain(llm=None, rerank=None)
    await start_dealbrain(llm=None, rerank=None)
    tenant = f"a-{unique}"
    queues = [f"dealbrain.index-refresh.{unique}-0", f"dealbrain.index-refresh.{unique}-1"]
    acked = {q: counter("tradebus_messages_total", queue=q, outcome="acked") for q in queues}
    chunks = await index_document(first.db, tenant, "payment", "Payment terms", PAYMENT)
    await first.client.publish(indexed(tenant, "payment", chunks), tenant_id=tenant)
    for q in queues:
        await eventually(
            lambda q=q: counter("tradebus_messages_total", queue=q, outcome="acked") == acked[q] + 1
        )
    for q in queues:
        # Gone ten minutes after its replica stops consuming; failures park in one lot.
        arguments = await queue_arguments(first.client.settings.url, q)
        assert arguments["x-expires"] == 600_000
        assert arguments["x-queue-type"] == "classic"
        assert arguments["x-dead-letter-routing-key"] == "dealbrain.index-refresh"


async def test_a_session_past_the_threshold_is_summarised_by_the_consumer(
    start_dealbrain, unique
) -> None:
    dealbrain = await start_dealbrain(rerank=None, session_token_threshold=20, recent_turns=2)
    tenant = f"a-{unique}"
    await index_document(dealbrain.db, tenant, "incoterms", "Incoterms 2020", INCOTERMS)
    await index_document(dealbrain.db, tenant, "payment", "Payment terms", PAYMENT)
    sessions = dealbrain.db["sessions"]
    key = {"tenant_id": tenant, "session_id": "s1"}

    await ask(dealbrain, tenant, "Who pays import duty under DAP?", session_id="s1")
    await ask(dealbrain, tenant, LC_QUESTION, session_id="s1")
    third = await ask(dealbrain, tenant, "And who pays import duty under DDP?", session_id="s1")
    assert third.session_id == "s1" and third.degraded == []

    # Each exchange is well over 20 tokens: the second ask asks for turns 0-1, the third
    # for 0-3 (all but the two newest turns).
    folded = await eventually(lambda: sessions.find_one({"_id": key, "summarized_through": 3}))
    assert folded["summary"]
    assert folded["turn_count"] == 6
    assert [t["n"] for t in folded["turns"]] == list(range(6))
    assert folded["summarized_tokens"] > 0
    # A duplicate of an applied command (same deterministic id) changes nothing.
    through = folded["summarized_through"]
    duplicates = counter("tradebus_dealbrain_summaries_total", outcome="duplicate")
    await dealbrain.client.publish(
        SummarizeSession(tenant_id=tenant, session_id="s1", through_turn=through),
        tenant_id=tenant,
        message_id=f"summarize:{tenant}:s1:{through}",
    )
    await eventually(
        lambda: counter("tradebus_dealbrain_summaries_total", outcome="duplicate") == duplicates + 1
    )
    again = await sessions.find_one({"_id": key})
    assert again["summary"] == folded["summary"]
    assert again["summarized_through"] == through
    assert await dealbrain.worker.bus.queue_depth(f"{SUMMARIZE_QUEUE}.dlq") == 0


async def test_another_tenants_session_id_is_a_new_session(start_dealbrain, unique) -> None:
    dealbrain = await start_dealbrain(llm=None, rerank=None)
    a, b = f"a-{unique}", f"b-{unique}"
    for tenant in (a, b):
        await index_document(dealbrain.db, tenant, f"{tenant}-inc", "Incoterms", INCOTERMS)
    await ask(dealbrain, a, "Who pays import duty under DAP?", session_id="shared")
    await ask(dealbrain, a, "And under DDP?", session_id="shared")
    await ask(dealbrain, b, "Who pays import duty under DAP?", session_id="shared")
    sessions = dealbrain.db["sessions"]
    docs = {d["tenant_id"]: d async for d in sessions.find({"session_id": "shared"})}
    assert docs[a]["turn_count"] == 4
    assert docs[b]["turn_count"] == 2
    assert "DDP" not in " ".join(t["content"] for t in docs[b]["turns"])
