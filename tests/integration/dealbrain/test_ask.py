"""`dealbrain.ask.v1` end to end over the real broker and MongoDB: grounded answers with
citations, tenant isolation, degradations under a slow LLM and a failing reranker, and
expired requests dropped."""

from __future__ import annotations

import asyncio
import time

import aio_pika
import pytest

from tests.integration.dealbrain.conftest import eventually
from tests.integration.retrieval.knowledge import INCOTERMS, PAYMENT, SHIPPING, index_document
from tradebus_contracts import AskReply, AskRequest, Envelope
from tradebus_dealbrain.app import ASK_QUEUE
from tradebus_messaging import RemoteError
from tradebus_messaging.failures import H_DEADLINE
from tradebus_messaging.publisher import build_message
from tradebus_messaging.runner import readiness
from tradebus_messaging.topology import COMMANDS

pytestmark = pytest.mark.integration

DAP_QUESTION = "Who pays import duty under DAP?"


async def seed(db, tenant: str) -> None:
    await index_document(db, tenant, f"{tenant}-incoterms", "Incoterms 2020", INCOTERMS)
    await index_document(db, tenant, f"{tenant}-payment", "Payment terms", PAYMENT)


async def ask(dealbrain, tenant: str, question: str, *, timeout: float = 5.0, **kw) -> AskReply:
    reply = await dealbrain.client.request(
        AskRequest(tenant_id=tenant, question=question, **kw), timeout=timeout, tenant_id=tenant
    )
    assert isinstance(reply, AskReply)
    return reply


async def test_a_grounded_llm_answer_cites_the_right_document(start_dealbrain, unique) -> None:
    dealbrain = await start_dealbrain()
    tenant = f"a-{unique}"
    await seed(dealbrain.db, tenant)
    reply = await ask(dealbrain, tenant, DAP_QUESTION, top_k=3)
    assert reply.degraded == []
    assert reply.citations, reply
    assert reply.citations[0].document_id == f"{tenant}-incoterms"
    assert reply.citations[0].title == "Incoterms 2020"
    assert "[1]" in reply.answer
    assert reply.retrieved >= 3
    assert set(reply.latency_ms) == {"retrieve", "rerank", "answer", "total"}
    assert (await dealbrain.faults.stats("chat"))["requests"] == 1
    assert (await dealbrain.faults.stats("rerank"))["requests"] == 1
    checks = await readiness(dealbrain.worker)
    assert checks["mongodb"] and checks["rabbitmq"] and checks[f"consumer:{ASK_QUEUE}"]


async def test_without_an_llm_the_answer_is_extractive_by_configuration(
    start_dealbrain, unique
) -> None:
    dealbrain = await start_dealbrain(llm=None, rerank=None)
    tenant = f"a-{unique}"
    await seed(dealbrain.db, tenant)
    reply = await ask(dealbrain, tenant, DAP_QUESTION)
    assert reply.degraded == []
    assert "buyer pays import duty" in reply.answer
    assert reply.citations[0].document_id == f"{tenant}-incoterms"
    assert (await dealbrain.faults.stats()) == {}


async def test_a_tenant_never_gets_another_tenants_chunks(start_dealbrain, unique) -> None:
    dealbrain = await start_dealbrain(llm=None, rerank=None)
    a, b = f"a-{unique}", f"b-{unique}"
    await seed(dealbrain.db, a)
    await index_document(dealbrain.db, b, f"{b}-shipping", "Shipping", SHIPPING)
    reply = await ask(dealbrain, b, DAP_QUESTION)
    assert all(c.document_id == f"{b}-shipping" for c in reply.citations)
    assert "import duty" not in reply.answer
    # Nor by naming the other tenant in the body: the envelope's tenant wins.
    with pytest.raises(RemoteError) as info:
        await dealbrain.client.request(
            AskRequest(tenant_id=a, question=DAP_QUESTION), timeout=5, tenant_id=b
        )
    assert info.value.code == "forbidden"


async def test_a_slow_llm_degrades_to_an_extractive_answer_within_the_deadline(
    start_dealbrain, unique
) -> None:
    dealbrain = await start_dealbrain()
    tenant = f"a-{unique}"
    await seed(dealbrain.db, tenant)
    await dealbrain.faults.set_faults(route="chat", latency_ms=10_000)
    # request() raises DeadlineExceeded if no reply arrives within the timeout.
    reply = await ask(dealbrain, tenant, DAP_QUESTION, timeout=2.5)
    assert reply.degraded == ["llm:extractive"]
    assert "buyer pays import duty" in reply.answer
    assert reply.citations[0].document_id == f"{tenant}-incoterms"
    stats = await dealbrain.faults.until_idle("chat")
    assert stats["requests"] >= 1 and stats["statuses"].get("200") is None


async def test_a_failing_reranker_degrades_to_bm25(start_dealbrain, unique) -> None:
    dealbrain = await start_dealbrain()
    tenant = f"a-{unique}"
    await seed(dealbrain.db, tenant)
    await dealbrain.faults.set_faults(route="rerank", status=503)
    reply = await ask(dealbrain, tenant, DAP_QUESTION)
    assert reply.degraded == ["rerank:bm25"]
    assert reply.citations[0].document_id == f"{tenant}-incoterms"
    assert (await dealbrain.faults.stats("rerank"))["statuses"] == {"503": 3}


async def test_an_empty_retrieval_is_counted_per_tenant_and_minute(start_dealbrain, unique) -> None:
    dealbrain = await start_dealbrain(llm=None, rerank=None, stats_flush_seconds=0.2)
    tenant = f"a-{unique}"
    await seed(dealbrain.db, tenant)
    await ask(dealbrain, tenant, DAP_QUESTION)
    empty = await ask(dealbrain, f"nobody-{unique}", DAP_QUESTION)
    assert empty.citations == [] and empty.retrieved == 0
    stats = dealbrain.db["retrieval_stats"]

    async def flushed() -> bool:  # counted in memory, written by the periodic flush
        return (
            await stats.count_documents({"tenant_id": {"$in": [tenant, f"nobody-{unique}"]}}) == 2
        )

    await eventually(flushed)
    hit_doc = await stats.find_one({"tenant_id": tenant})
    empty_doc = await stats.find_one({"tenant_id": f"nobody-{unique}"})
    assert (hit_doc["asks"], hit_doc["empty"]) == (1, 0)
    assert (empty_doc["asks"], empty_doc["empty"]) == (1, 1)
    assert empty_doc["minute"].second == 0


async def test_an_expired_request_is_dropped_by_the_server(start_dealbrain, unique) -> None:
    from prometheus_client import REGISTRY

    def expired() -> float:
        sample = REGISTRY.get_sample_value(
            "tradebus_messages_total", {"queue": ASK_QUEUE, "outcome": "expired"}
        )
        return sample or 0.0

    dealbrain = await start_dealbrain(llm=None, rerank=None)
    tenant = f"late-{unique}"
    before = expired()
    connection = await aio_pika.connect(dealbrain.client.settings.url)
    try:
        channel = await connection.channel()
        replies: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()
        reply_queue = await channel.get_queue("amq.rabbitmq.reply-to", ensure=False)
        await reply_queue.consume(replies.put, no_ack=True)
        # A request whose caller gave up a second ago (its deadline travels in a header).
        request = AskRequest(tenant_id=tenant, question=DAP_QUESTION, session_id="s1")
        envelope = Envelope(type=request.message_type, source="test", tenant_id=tenant)
        message = build_message(
            request.model_dump_json().encode(),
            envelope,
            headers={H_DEADLINE: f"{time.time() - 1:.6f}"},
            reply_to="amq.rabbitmq.reply-to",
            correlation_id=envelope.id,
        )
        exchange = await channel.get_exchange(COMMANDS, ensure=False)
        await exchange.publish(message, routing_key=request.message_type)
        await eventually(lambda: expired() == before + 1)
        assert replies.empty()
    finally:
        await connection.close()
    # The handler never ran: no session, no retrieval counted.
    assert await dealbrain.db["sessions"].count_documents({"tenant_id": tenant}) == 0
    assert await dealbrain.db["retrieval_stats"].count_documents({"tenant_id": tenant}) == 0
