"""Batches through the gateway with the real ingest and embed workers as processes: a
batch with a corrupt PDF among good files ends `failed` with the counts (every good one
indexed); cancelling a batch mid-run cancels every unfinished document and nothing of
theirs gets embedded afterwards."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.stack import Stack, isolated_stack

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "samples" / "documents"
KEY = "tb_e2e_batches_" + uuid.uuid4().hex
TYPES = {".md": "text/markdown", ".txt": "text/plain", ".html": "text/html"}
TYPES[".pdf"] = "application/pdf"
ENDED = {"succeeded", "failed", "cancelled"}


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with isolated_stack(
        "e2e-batches",
        base_port=19_620,  # other e2e stacks: 18_100 .. 19_350
        logs=tmp_path_factory.mktemp("batches-logs"),
        env={
            "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
            "TRADEBUS_OMNIRAG_INGEST_EMBED_BATCH_SIZE": "4",
            "TRADEBUS_OMNIRAG_INGEST_CHUNK_MAX_TOKENS": "64",
            "TRADEBUS_OMNIRAG_INGEST_CHUNK_OVERLAP_TOKENS": "8",
        },
        services=[(s, s) for s in ("gateway", "omnirag-ingest", "omnirag-embed")],
    ) as stack:
        yield stack


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with stack.api(KEY, timeout=60) as client:
        yield client


@pytest.fixture
async def db(stack: Stack) -> AsyncIterator[Any]:
    async with stack.db() as database:
        yield database


async def until(api: httpx.AsyncClient, task_id: str, timeout: float = 120) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            task: dict[str, Any] = (await api.get(f"/v1/tasks/{task_id}")).json()
            if task["status"] in ENDED:
                return task
            await asyncio.sleep(0.25)


async def children(api: httpx.AsyncClient, parent_id: str) -> list[dict[str, Any]]:
    response = await api.get("/v1/tasks", params={"parent": parent_id, "limit": 200})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_batch_with_a_corrupt_pdf_ends_failed_with_the_counts(api) -> None:
    good = [
        DOCS / "incoterms-2020-overview.md",
        DOCS / "supplier-onboarding-checklist.txt",
        DOCS / "export-control-faq.html",
        DOCS / "letter-of-credit-guide.pdf",
    ]
    paths = [*good, DOCS / "corrupt.pdf"]
    files = [("file", (p.name, p.read_bytes(), TYPES[p.suffix])) for p in paths]
    described = json.dumps([{"metadata": {"batch": "e2e"}} for _ in paths])
    response = await api.post("/v1/rag/batches", files=files, data={"documents": described})
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert len(accepted["documents"]) == 5

    parent = await until(api, accepted["task_id"])
    assert parent["status"] == "failed", parent
    assert parent["error"]["code"] == "documents_failed"
    assert parent["batch"] == {
        "total": 5,
        "queued": 0,
        "running": 0,
        "retrying": 0,
        "succeeded": 4,
        "failed": 1,
        "cancelled": 0,
    }
    assert parent["progress"] == {"done": 5, "total": 5}
    by_id = {c["id"]: c for c in await children(api, accepted["task_id"])}
    corrupt = by_id[accepted["documents"][-1]["task_id"]]
    assert corrupt["status"] == "failed" and corrupt["error"]["code"] == "corrupt_document"
    for document in accepted["documents"][:-1]:
        assert by_id[document["task_id"]]["status"] == "succeeded"
        indexed = (await api.get(f"/v1/rag/documents/{document['document_id']}")).json()
        assert indexed["status"] == "indexed" and indexed["metadata"] == {"batch": "e2e"}


def long_text(words: int, seed: str) -> str:
    sentences = [
        f"Clause {i} of contract {seed} sets the delivery window for shipment lot {i * 7}."
        for i in range(words // 14)
    ]
    return "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))


async def test_cancelling_a_batch_mid_run_cancels_every_unfinished_document(api, db, stack) -> None:
    await stack.stop("omnirag-embed")  # embed batches wait in the queue: mid-run
    try:
        body = {
            "documents": [
                {"title": f"Long {i}", "text": long_text(3000, f"cancel-{i}")} for i in range(3)
            ]
        }
        response = await api.post("/v1/rag/batches", json=body)
        assert response.status_code == 202, response.text
        parent_id = response.json()["task_id"]
        async with asyncio.timeout(60):  # every document chunked, none embedded
            while not all(c["progress"]["total"] for c in await children(api, parent_id)):
                await asyncio.sleep(0.2)
        running = (await api.get(f"/v1/tasks/{parent_id}")).json()
        assert running["status"] == "running" and running["batch"]["running"] == 3
        cancelled = await api.post(f"/v1/tasks/{parent_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert cancelled.json()["batch"]["cancelled"] == 3
    finally:
        await stack.start("omnirag-embed")
    await stack.drained("omnirag-embed.embed")
    assert {c["status"] for c in await children(api, parent_id)} == {"cancelled"}
    documents = [d["document_id"] for d in response.json()["documents"]]
    embedded = await db["chunks"].count_documents(
        {"document_id": {"$in": documents}, "vector": {"$exists": True}}
    )
    assert embedded == 0
    assert (await api.post(f"/v1/tasks/{parent_id}/cancel")).status_code == 200  # harmless
    assert (await api.get(f"/v1/tasks/{parent_id}/result")).status_code == 410
