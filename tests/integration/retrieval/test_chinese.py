"""Chinese and mixed Chinese/English documents through the real MongoDB: indexed the way
omnirag-ingest and omnirag-embed do it, searched by TenantIndexCache, and answered by
dealbrain (offline: hashing embedder, BM25 reranker, extractive answer) with a citation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.retrieval.knowledge import EMBEDDER, INCOTERMS, index_document
from tradebus_contracts import AskReply, AskRequest
from tradebus_knowledge import detect_format, normalize, parse
from tradebus_retrieval import TenantIndexCache
from tradebus_storage import KnowledgeRepository

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "documents"


def sample(name: str) -> str:
    path = SAMPLES / name
    return normalize(parse(path.read_bytes(), detect_format(path.name, None)))


async def seed(db, tenant: str) -> dict[str, str]:
    ids = {
        "contract": f"{tenant}-contract",
        "policy": f"{tenant}-policy",
        "quote": f"{tenant}-quote",
        "incoterms": f"{tenant}-incoterms",
    }
    for key, name, title in [
        ("contract", "zh-sales-contract-steel-coil.md", "冷轧钢卷销售合同"),
        ("policy", "zh-credit-collection-policy.txt", "跨境收款与信用管理规定"),
        ("quote", "zh-en-bilingual-quotation.md", "报价单 Quotation QT-2026-0711"),
    ]:
        await index_document(db, tenant, ids[key], title, sample(name), max_tokens=120)
    await index_document(db, tenant, ids["incoterms"], "Incoterms 2020", INCOTERMS)
    return ids


async def test_a_chinese_question_finds_the_chunk_with_the_fact(mongo, unique) -> None:
    db = mongo[1]
    tenant = f"zh-{unique}"
    ids = await seed(db, tenant)
    cache = TenantIndexCache(KnowledgeRepository(db), EMBEDDER)
    hits = await cache.search(tenant, "逾期多少天停止向客户发货?", 5)
    assert hits[0].document_id == ids["policy"]
    assert any("停止向该客户发货" in h.text for h in hits[:3])
    hits = await cache.search(tenant, "钢卷合同单价每吨多少美元?", 5)
    assert hits[0].document_id == ids["contract"]
    assert any("615美元" in h.text for h in hits)  # among the reranker's candidates


async def test_a_mixed_language_document_answers_both_languages(mongo, unique) -> None:
    db = mongo[1]
    tenant = f"mix-{unique}"
    ids = await seed(db, tenant)
    cache = TenantIndexCache(KnowledgeRepository(db), EMBEDDER)
    chinese = await cache.search(tenant, "客户logo丝印的开版费是多少?", 3)
    english = await cache.search(tenant, "What is the plate fee for logo printing?", 3)
    for hits in (chinese, english):
        assert hits[0].document_id == ids["quote"], hits
        assert "plate fee USD 60" in hits[0].text
    # English questions still find the English document.
    hits = await cache.search(tenant, "Who pays import duty under DDP?", 3)
    assert hits[0].document_id == ids["incoterms"]


async def test_dealbrain_answers_a_chinese_question_with_the_fact_and_a_citation(
    start_dealbrain, unique
) -> None:
    dealbrain = await start_dealbrain(llm=None, rerank=None)
    tenant = f"zh-ask-{unique}"
    ids = await seed(dealbrain.db, tenant)
    reply = await dealbrain.client.request(
        AskRequest(tenant_id=tenant, question="买方最晚什么时候开立信用证?", top_k=5),
        timeout=10,
        tenant_id=tenant,
    )
    assert isinstance(reply, AskReply)
    assert reply.degraded == []
    assert "2026年5月15日之前" in reply.answer, reply.answer
    assert "[1]" in reply.answer
    assert reply.citations[0].document_id == ids["contract"]
    assert reply.citations[0].title == "冷轧钢卷销售合同"
