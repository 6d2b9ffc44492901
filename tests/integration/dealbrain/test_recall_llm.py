"""The recall patrol with an LLM configured (the fault server's): the LLM writes one
question per sampled chunk and the HTTP reranker ranks, as for an ask; an LLM that keeps
failing is retried by the runtime, then the run asks offline questions instead."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.dealbrain.conftest import eventually
from tests.integration.retrieval.knowledge import INCOTERMS, PAYMENT, SHIPPING, index_document
from tradebus_contracts import EvaluateRecall

pytestmark = pytest.mark.integration

SLOT = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


async def seed(db, tenant: str) -> int:
    ids = await index_document(db, tenant, f"{tenant}-incoterms", "Incoterms", INCOTERMS)
    ids += await index_document(db, tenant, f"{tenant}-payment", "Payment", PAYMENT)
    ids += await index_document(db, tenant, f"{tenant}-shipping", "Shipping", SHIPPING)
    return len(ids)


async def test_the_llm_writes_the_questions_when_one_is_configured(start_dealbrain, unique) -> None:
    dealbrain = await start_dealbrain()  # LLM and reranker: the fault server
    tenant = f"a-{unique}"
    chunks = await seed(dealbrain.db, tenant)
    await dealbrain.client.publish(EvaluateRecall(slot=SLOT, tenant_id=tenant), tenant_id=tenant)
    quality = dealbrain.db["rag_quality"]
    run = await eventually(lambda: quality.find_one({"tenant_id": tenant}), within=60)
    assert run["method"] == "llm" and run["samples"] == chunks
    assert 0 <= run["recall_at_k"] <= 1 and run["degraded"] == []
    assert (await dealbrain.faults.stats("chat"))["requests"] == chunks
    assert (await dealbrain.faults.stats("rerank"))["requests"] == chunks


async def test_a_failing_llm_is_retried_then_the_questions_are_asked_offline(
    start_dealbrain, unique
) -> None:
    dealbrain = await start_dealbrain(recall_llm_attempts=2)
    await dealbrain.faults.set_faults(route="chat", status=503)
    tenant = f"a-{unique}"
    chunks = await seed(dealbrain.db, tenant)
    await dealbrain.client.publish(EvaluateRecall(slot=SLOT, tenant_id=tenant), tenant_id=tenant)
    quality = dealbrain.db["rag_quality"]
    run = await eventually(lambda: quality.find_one({"tenant_id": tenant}), within=90)
    assert run["method"] == "offline" and run["samples"] == chunks
    assert run["recall_at_k"] >= 0.5
    # Two attempts of the command asked the LLM (each through the provider's own retries).
    assert (await dealbrain.faults.stats("chat"))["requests"] >= 2
