"""Documents as resources, against the real MongoDB: each document owns its chunks (an
equal chunk in two documents survives the deletion of either), a reindex switches
readers atomically from one version to the next, a deletion cannot be undone by a late
write, and listing is tenant-scoped, filtered and cursor-paged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from tradebus_knowledge import HashingEmbedder
from tradebus_retrieval import TenantIndexCache
from tradebus_storage import (
    DocumentCatalog,
    DocumentFilter,
    DocumentGone,
    KnowledgeRepository,
    NewChunk,
)

pytestmark = pytest.mark.integration

DIMENSIONS = 64
EMBEDDER = HashingEmbedder(DIMENSIONS)
SHARED = "Payment is due thirty days after the invoice date under our standard terms."


@pytest.fixture
async def kb(mongo: tuple[Any, Any]) -> KnowledgeRepository:
    repo = KnowledgeRepository(mongo[1])
    await repo.ensure_indexes()
    return repo


@pytest.fixture
def catalog(mongo: tuple[Any, Any]) -> DocumentCatalog:
    return DocumentCatalog(mongo[1])


async def ingest(
    kb: KnowledgeRepository,
    tenant: str,
    document: str,
    texts: list[str],
    *,
    task: str | None = None,
    switch: bool = True,
    metadata: dict[str, str] | None = None,
    title: str | None = None,
) -> list[str]:
    """What omnirag-ingest and omnirag-embed do for one version; returns its chunk ids."""
    task = task or f"task-{document}"
    version = await kb.upsert_document(
        tenant_id=tenant,
        document_id=document,
        task_id=task,
        title=title or document,
        metadata=metadata or {},
        source={"kind": "text", "text": " ".join(texts)},
    )
    chunks = [NewChunk(i, t, len(t.split()), f"h-{t}") for i, t in enumerate(texts)]
    await kb.store_chunks(tenant_id=tenant, document_id=document, chunks=chunks, version=version)
    ids = await kb.chunk_ids(tenant, document, version)
    await kb.record_pending(
        tenant, document, task, chunk_count=len(ids), duplicate_chunks=0, content_hash=task
    )
    stored = await kb.load_chunks(tenant, ids)
    vectors = EMBEDDER.embed_sync([c.text for c in stored])
    await kb.store_vectors(tenant, document, 0, ids, vectors, model=EMBEDDER.name, version=version)
    if switch:
        assert await kb.mark_indexed(tenant, document, task) is not None
    return ids


async def texts_of(kb: KnowledgeRepository, tenant: str) -> set[str]:
    vectors = await kb.tenant_vectors(tenant, DIMENSIONS)
    return {c.text for c in await kb.load_chunks(tenant, vectors.ids)}


async def test_an_equal_chunk_in_two_documents_survives_deleting_either(kb, catalog) -> None:
    a = await ingest(kb, "t1", "doc-a", [SHARED, "Alpha owns this sentence."])
    b = await ingest(kb, "t1", "doc-b", [SHARED, "Beta owns this one."])
    # Each document holds its own copy: nothing of b points at a.
    assert [c.document_id for c in await kb.load_chunks("t1", b)] == ["doc-b", "doc-b"]
    assert (await catalog.mark_deleted("t1", "doc-a")) is not None
    # Readers filter the tombstone at once, before any purge.
    assert await texts_of(kb, "t1") == {SHARED, "Beta owns this one."}
    assert await catalog.purge("t1", "doc-a") == {
        "kind": "text",
        "text": f"{SHARED} Alpha owns this sentence.",
    }
    assert await kb.load_chunks("t1", a) == []
    kept = await kb.load_chunks("t1", b)
    assert [c.text for c in kept] == [SHARED, "Beta owns this one."]
    vectors = await kb.tenant_vectors("t1", DIMENSIONS)
    assert vectors.ids == b


async def test_deleting_the_second_copy_keeps_the_first_documents_citations(kb, catalog) -> None:
    a = await ingest(kb, "t1", "doc-a", [SHARED, "Alpha owns this sentence."])
    await ingest(kb, "t1", "doc-b", [SHARED])
    await catalog.mark_deleted("t1", "doc-b")
    await catalog.purge("t1", "doc-b")
    cache = TenantIndexCache(kb, EMBEDDER)
    hits = await cache.search("t1", SHARED, k=3)
    assert {h.document_id for h in hits} == {"doc-a"}
    assert {h.id for h in hits} == set(a)


async def test_a_reindex_switches_readers_atomically_when_its_last_batch_lands(kb) -> None:
    v1 = await ingest(kb, "t1", "doc", ["Old terms: net sixty days."])
    v2 = await ingest(kb, "t1", "doc", ["New terms: net thirty days."], task="task-2", switch=False)
    assert v1 == ["doc:0"] and v2 == ["doc#2:0"]
    # The new version is stored and embedded, not yet switched: readers see the old one.
    assert (await kb.tenant_vectors("t1", DIMENSIONS)).ids == v1
    assert await kb.indexed_document("t1", "doc") is not None
    switched = await kb.mark_indexed("t1", "doc", "task-2")
    assert switched is not None and switched["version"] == 2
    assert (await kb.tenant_vectors("t1", DIMENSIONS)).ids == v2
    assert await kb.load_chunks("t1", v1) == []  # the superseded version is removed
    # A redelivered last batch finds the switch done and answers the same.
    again = await kb.mark_indexed("t1", "doc", "task-2")
    assert again is not None and again["version"] == 2


async def test_a_superseded_or_failed_version_never_goes_live(kb) -> None:
    v1 = await ingest(kb, "t1", "doc", ["First version."])
    await ingest(kb, "t1", "doc", ["Second, abandoned."], task="task-2", switch=False)
    v3 = await ingest(kb, "t1", "doc", ["Third wins."], task="task-3", switch=False)
    assert await kb.mark_indexed("t1", "doc", "task-2") is None  # superseded by task-3
    assert (await kb.tenant_vectors("t1", DIMENSIONS)).ids == v1
    await kb.abandon_pending("t1", "doc", "task-3", error="parse failed")
    record = await kb.document("t1", "doc")
    assert record is not None and record["status"] == "indexed"  # the live one serves on
    assert (await kb.tenant_vectors("t1", DIMENSIONS)).ids == v1
    assert await kb.load_chunks("t1", v3) == []


async def test_late_writes_after_a_delete_leave_nothing_behind(kb, catalog) -> None:
    version = await kb.upsert_document(
        tenant_id="t1", document_id="doc", task_id="task", title="T", metadata={}
    )
    await kb.store_chunks(
        tenant_id="t1", document_id="doc", chunks=[NewChunk(0, "text", 1, "h")], version=version
    )
    await catalog.mark_deleted("t1", "doc")
    await catalog.purge("t1", "doc")
    with pytest.raises(DocumentGone):  # a late embed batch
        await kb.store_vectors(
            "t1", "doc", 0, ["doc:0"], np.ones((1, DIMENSIONS)), model="m", version=version
        )
    with pytest.raises(DocumentGone):  # a late chunk write
        await kb.store_chunks(
            tenant_id="t1", document_id="doc", chunks=[NewChunk(1, "more", 1, "h2")], version=1
        )
    with pytest.raises(DocumentGone):  # a redelivered ingest
        await kb.upsert_document(
            tenant_id="t1", document_id="doc", task_id="task", title="T", metadata={}
        )
    assert await kb.load_chunks("t1", ["doc:0", "doc:1"]) == []
    assert await kb.mark_indexed("t1", "doc", "task") is None
    assert (await kb.tenant_vectors("t1", DIMENSIONS)).ids == []


async def test_a_deleted_document_is_not_found_and_a_repeat_delete_sees_it(catalog, kb) -> None:
    await ingest(kb, "t1", "doc", ["Some text."])
    assert await catalog.mark_deleted("t2", "doc") is None  # another tenant's: unknown
    assert (await catalog.get("t1", "doc")) is not None
    first = await catalog.mark_deleted("t1", "doc")
    assert first is not None and first.status == "indexed"  # as it was before
    again = await catalog.mark_deleted("t1", "doc")
    assert again is not None and again.status == "deleted"
    assert await catalog.get("t1", "doc") is None
    assert await catalog.purge("t2", "doc") is None  # never another tenant's


async def test_listing_is_tenant_scoped_filtered_and_cursor_paged(kb, catalog, mongo) -> None:
    for n in range(5):
        await ingest(
            kb,
            "t1",
            f"doc-{n}",
            [f"Text number {n}."],
            metadata={"region": "EU" if n % 2 else "US"},
            title=f"Contract {n}" if n < 4 else "Price list",
        )
    await ingest(kb, "t2", "other", ["Another tenant's text."])
    await catalog.mark_deleted("t1", "doc-0")
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = await catalog.page("t1", DocumentFilter(), cursor=cursor, limit=2)
        seen.extend(d.id for d in page)
        if cursor is None:
            break
    assert seen == ["doc-4", "doc-3", "doc-2", "doc-1"]  # newest first, no deleted, no t2
    eu, _ = await catalog.page(
        "t1", DocumentFilter(metadata={"region": "EU"}), cursor=None, limit=9
    )
    assert [d.id for d in eu] == ["doc-3", "doc-1"]
    titled, _ = await catalog.page("t1", DocumentFilter(title="contract"), cursor=None, limit=9)
    assert [d.id for d in titled] == ["doc-3", "doc-2", "doc-1"]
    future = datetime.now(UTC) + timedelta(hours=1)
    late, _ = await catalog.page("t1", DocumentFilter(created_after=future), cursor=None, limit=9)
    assert late == []
    early, _ = await catalog.page(
        "t1", DocumentFilter(created_before=future, status="indexed"), cursor=None, limit=9
    )
    assert len(early) == 4
    record = early[0]
    assert record.chunk_count == 1 and record.version == 1 and record.task_id == "task-doc-4"
