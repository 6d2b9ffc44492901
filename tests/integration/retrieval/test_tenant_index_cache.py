"""TenantIndexCache against the real MongoDB: tenant-scoped search, in-place refresh,
re-indexing, single-flight loads and background rebuilds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.retrieval.knowledge import (
    EMBEDDER,
    INCOTERMS,
    PAYMENT,
    SHIPPING,
    index_document,
)
from tradebus_retrieval import TenantIndexCache
from tradebus_storage import KnowledgeRepository, TenantVectors

pytestmark = pytest.mark.integration


class GatedRepository(KnowledgeRepository):
    """Holds every full vector load until the test opens the gate."""

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self.gate = asyncio.Event()
        self.loads = 0

    async def tenant_vectors(
        self, tenant_id: str, dimensions: int, *, document_id: str | None = None
    ) -> TenantVectors:
        if document_id is None:
            self.loads += 1
            await self.gate.wait()
        return await super().tenant_vectors(tenant_id, dimensions, document_id=document_id)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def db(mongo):
    return mongo[1]


async def test_search_is_scoped_to_the_tenant(db, unique) -> None:
    a, b = f"a-{unique}", f"b-{unique}"
    await index_document(db, a, f"{a}-incoterms", "Incoterms 2020", INCOTERMS)
    await index_document(db, b, f"{b}-shipping", "Shipping", SHIPPING)
    cache = TenantIndexCache(KnowledgeRepository(db), EMBEDDER)
    hits = await cache.search(a, "Who pays import duty under DAP?", k=2)
    assert hits[0].document_id == f"{a}-incoterms"
    assert hits[0].title == "Incoterms 2020"
    assert "buyer pays import duty" in hits[0].text
    other = await cache.search(b, "Who pays import duty under DAP?", k=5)
    assert {h.document_id for h in other} == {f"{b}-shipping"}
    assert await cache.search(f"nobody-{unique}", "import duty", k=5) == []


async def test_metadata_filters_narrow_the_search(db, unique) -> None:
    t = f"t-{unique}"
    await index_document(db, t, "d-inc", "Incoterms", INCOTERMS, metadata={"kind": "guide"})
    await index_document(db, t, "d-pay", "Payment", PAYMENT, metadata={"kind": "contract"})
    cache = TenantIndexCache(KnowledgeRepository(db), EMBEDDER)
    hits = await cache.search(t, "Who pays import duty?", k=3, filters={"kind": "contract"})
    assert hits and {h.document_id for h in hits} == {"d-pay"}


async def test_an_indexed_document_becomes_searchable_without_a_reload(db, unique) -> None:
    t = f"t-{unique}"
    await index_document(db, t, "d-inc", "Incoterms", INCOTERMS)
    repo = GatedRepository(db)
    repo.gate.set()
    cache = TenantIndexCache(repo, EMBEDDER)
    assert "d-pay" not in {h.document_id for h in await cache.search(t, "letter of credit", 3)}
    await index_document(db, t, "d-pay", "Payment", PAYMENT)
    await cache.document_indexed(t, "d-pay")
    hits = await cache.search(t, "letter of credit", 3)
    assert hits[0].document_id == "d-pay"
    assert repo.loads == 1


async def test_a_reindexed_document_replaces_its_old_chunks(db, unique) -> None:
    t = f"t-{unique}"
    ids = await index_document(db, t, "d-inc", "Incoterms", INCOTERMS + " " + SHIPPING)
    cache = TenantIndexCache(KnowledgeRepository(db), EMBEDDER)
    assert len(await cache.search(t, "demurrage container", 10)) == len(ids)
    # The new version has fewer chunks: the old tail must leave the index.
    await db["chunks"].delete_many({"tenant_id": t})
    await db["vectors"].delete_many({"tenant_id": t})
    new_ids = await index_document(db, t, "d-inc", "Incoterms", INCOTERMS)
    assert len(new_ids) < len(ids)
    await cache.document_indexed(t, "d-inc")
    assert {h.id for h in await cache.search(t, "demurrage container", 10)} == set(new_ids)


async def test_an_event_during_a_load_is_applied_to_the_loaded_index(db, unique) -> None:
    t = f"t-{unique}"
    await index_document(db, t, "d-inc", "Incoterms", INCOTERMS)
    repo = GatedRepository(db)
    cache = TenantIndexCache(repo, EMBEDDER)
    first = asyncio.create_task(cache.search(t, "letter of credit", 3))
    while repo.loads == 0:
        await asyncio.sleep(0.01)
    # The load read the document list before d-pay was indexed.
    await index_document(db, t, "d-pay", "Payment", PAYMENT)
    event = asyncio.create_task(cache.document_indexed(t, "d-pay"))
    repo.gate.set()
    await asyncio.gather(first, event)
    hits = await cache.search(t, "letter of credit", 3)
    assert hits[0].document_id == "d-pay"


async def test_a_caller_giving_up_does_not_cancel_the_shared_load(db, unique) -> None:
    t = f"t-{unique}"
    await index_document(db, t, "d-inc", "Incoterms", INCOTERMS)
    repo = GatedRepository(db)
    cache = TenantIndexCache(repo, EMBEDDER)
    impatient = asyncio.create_task(cache.search(t, "import duty", 2))
    patient = asyncio.create_task(cache.search(t, "import duty", 2))
    while repo.loads == 0:
        await asyncio.sleep(0.01)
    impatient.cancel()
    repo.gate.set()
    hits = await patient
    assert hits and hits[0].document_id == "d-inc"
    assert impatient.cancelled()
    assert repo.loads == 1


async def test_a_stale_index_is_rebuilt_in_the_background(db, unique) -> None:
    t = f"t-{unique}"
    await index_document(db, t, "d-inc", "Incoterms", INCOTERMS)
    await index_document(db, t, "d-pay", "Payment", PAYMENT)
    clock = Clock()
    repo = GatedRepository(db)
    repo.gate.set()
    cache = TenantIndexCache(repo, EMBEDDER, refresh_seconds=60, clock=clock)
    assert (await cache.search(t, "letter of credit", 1))[0].document_id == "d-pay"
    await db["documents"].update_one({"_id": "d-pay"}, {"$set": {"status": "deleted"}})
    clock.now = 61
    stale = await cache.search(t, "letter of credit", 1)  # served while rebuilding
    assert stale[0].document_id == "d-pay"
    while repo.loads < 2:
        await asyncio.sleep(0.01)
    for _ in range(100):
        hits = await cache.search(t, "letter of credit", 1)
        if hits and hits[0].document_id != "d-pay":
            break
        await asyncio.sleep(0.02)
    assert hits[0].document_id == "d-inc"


class CountingRepository(KnowledgeRepository):
    """Counts the chunk-text reads that reach MongoDB."""

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self.chunk_reads: list[list[str]] = []

    async def load_chunks(self, tenant_id: str, ids: Any) -> Any:
        self.chunk_reads.append(list(ids))
        return await super().load_chunks(tenant_id, ids)


async def test_a_warm_query_reads_no_chunk_text_from_mongodb(db, unique) -> None:
    tenant = f"a-{unique}"
    await index_document(db, tenant, f"{tenant}-incoterms", "Incoterms 2020", INCOTERMS)
    repo = CountingRepository(db)
    cache = TenantIndexCache(repo, EMBEDDER)
    first = await cache.search(tenant, "Who pays import duty under DAP?", k=3)
    assert len(repo.chunk_reads) == 1 and first
    again = await cache.search(tenant, "Who pays import duty under DAP?", k=3)
    assert again == first
    assert len(repo.chunk_reads) == 1, "served from the text cache"


async def test_reindexing_a_document_drops_its_cached_texts(db, unique) -> None:
    tenant = f"a-{unique}"
    document = f"{tenant}-terms"
    await index_document(db, tenant, document, "Terms", INCOTERMS)
    cache = TenantIndexCache(KnowledgeRepository(db), EMBEDDER)
    before = await cache.search(tenant, "freight insurance", k=1)
    # A new version under the same document id (its chunk ids are reused).
    await db["chunks"].delete_many({"tenant_id": tenant})
    await db["vectors"].delete_many({"tenant_id": tenant})
    await index_document(db, tenant, document, "Terms", PAYMENT)
    await cache.document_indexed(tenant, document)
    after = await cache.search(tenant, "letter of credit payment", k=1)
    assert after[0].text != before[0].text
    assert after[0].text in PAYMENT
