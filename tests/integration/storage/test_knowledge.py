import asyncio

import numpy as np
import pytest

from tradebus_knowledge import top_k
from tradebus_storage import KnowledgeRepository, NewChunk, TaskRepository


@pytest.fixture
async def kb(mongo) -> KnowledgeRepository:
    repo = KnowledgeRepository(mongo[1])
    await repo.ensure_indexes()
    return repo


def chunks(*texts: str) -> list[NewChunk]:
    return [NewChunk(i, t, len(t.split()), f"h-{t}") for i, t in enumerate(texts)]


async def test_storing_chunks_again_never_duplicates(kb, mongo) -> None:
    await kb.upsert_document(tenant_id="t1", document_id="d1", task_id="x", title="D", metadata={})
    assert await kb.store_chunks(tenant_id="t1", document_id="d1", chunks=chunks("a", "b")) == 0
    assert await kb.store_chunks(tenant_id="t1", document_id="d1", chunks=chunks("a", "b")) == 0
    assert await kb.chunk_ids("t1", "d1") == ["d1:0", "d1:1"]


async def test_each_document_owns_its_chunks_even_when_equal_to_anothers(kb) -> None:
    await kb.store_chunks(tenant_id="t1", document_id="d1", chunks=chunks("same", "one"))
    skipped = await kb.store_chunks(tenant_id="t1", document_id="d2", chunks=chunks("same", "two"))
    assert skipped == 0 and await kb.chunk_ids("t1", "d2") == ["d2:0", "d2:1"]
    assert await kb.store_chunks(tenant_id="t2", document_id="d3", chunks=chunks("same")) == 0


async def test_vectors_are_searchable_once_the_document_is_indexed(kb) -> None:
    await kb.upsert_document(tenant_id="t1", document_id="d1", task_id="x", title="D", metadata={})
    await kb.store_chunks(tenant_id="t1", document_id="d1", chunks=chunks("a", "b", "c"))
    vectors = np.eye(3, 4, dtype=np.float32)
    ids = await kb.chunk_ids("t1", "d1")
    await kb.store_vectors("t1", "d1", 0, ids[:2], vectors[:2], model="m")
    await kb.store_vectors("t1", "d1", 1, ids[2:], vectors[2:], model="m")
    await kb.store_vectors("t1", "d1", 0, ids[:2], vectors[:2], model="m")  # redelivered
    assert (await kb.tenant_vectors("t1", 4)).ids == []  # not indexed yet
    assert (await kb.mark_indexed("t1", "d1"))["status"] == "indexed"
    found = await kb.tenant_vectors("t1", 4)
    assert found.ids == ids and np.array_equal(found.matrix, vectors)
    assert [h.chunk_id for h in top_k(vectors[1], found.matrix, found.ids, 1)] == ["d1:1"]
    assert (await kb.tenant_vectors("t2", 4)).ids == []  # another tenant sees nothing
    loaded = await kb.load_chunks("t1", ["d1:2", "d1:0", "missing"])
    assert [c.id for c in loaded] == ["d1:2", "d1:0"]
    assert await kb.load_chunks("t2", ["d1:0"]) == []


async def test_a_unit_of_progress_counts_once_however_often_it_is_redelivered(mongo) -> None:
    tasks = TaskRepository(mongo[1])
    task, _ = await tasks.create(tenant_id="t1", kind="rag.ingest")
    await tasks.set_progress_total("t1", task.id, 3)
    await asyncio.gather(*(tasks.complete_unit("t1", task.id, u) for u in (0, 1, 1, 0, 2, 2)))
    progress = (await tasks.get("t1", task.id)).progress
    assert (progress.done, progress.total) == (3, 3)
