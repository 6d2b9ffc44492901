"""The batch path through the gateway, with every service a real process: documents of
every format reach `succeeded`, idempotency, cancellation, an embed worker SIGKILLed
mid-run, a corrupt PDF parked with its reason, the 4xx answers, tenant isolation."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest

from tests.support.infra import require_mongodb, require_rabbitmq
from tests.support.stack import Stack
from tests.support.vhost import isolated_vhost
from tradebus_storage import MongoSettings, create_client

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "samples" / "documents"
KEY_A, KEY_B = "tb_e2e_tenant_a_" + uuid.uuid4().hex, "tb_e2e_tenant_b_" + uuid.uuid4().hex
UPLOAD_LIMIT = 300_000
TYPES = {
    ".md": "text/markdown",
    ".txt": "text/plain",
    ".html": "text/html",
    ".pdf": "application/pdf",
}


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    require_rabbitmq()
    require_mongodb()
    database = f"e2e_{uuid.uuid4().hex[:10]}"
    async with isolated_vhost("e2e-ingest") as amqp_url:
        async for stack in _run_stack(database, amqp_url, tmp_path_factory):
            yield stack


async def _run_stack(
    database: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    stack = Stack(
        database=database,
        base_port=18_100,
        logs=tmp_path_factory.mktemp("stack-logs"),
        env={
            "RABBITMQ_URL": amqp_url,
            "TRADEBUS_LOG_JSON": "true",
            "TRADEBUS_BOOTSTRAP_API_KEY": KEY_A,
            "TRADEBUS_GATEWAY_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
            "TRADEBUS_OMNIRAG_INGEST_EMBED_BATCH_SIZE": "4",
            "TRADEBUS_OMNIRAG_INGEST_CHUNK_MAX_TOKENS": "64",
            "TRADEBUS_OMNIRAG_INGEST_CHUNK_OVERLAP_TOKENS": "8",
            # Slow the embedder's intake so kill and cancel land mid-run.
            "TRADEBUS_OMNIRAG_EMBED_PREFETCH": "1",
            "TRADEBUS_OMNIRAG_EMBED_CONCURRENCY": "1",
        },
    )
    stack.add("gateway", "gateway")
    stack.add(
        "strict-gateway",
        "gateway",
        env={
            # no room at all: no floor, and an SLO no drain rate can meet
            "TRADEBUS_GATEWAY_INGEST_BACKLOG_FLOOR": "0",
            "TRADEBUS_GATEWAY_INGEST_SLO_SECONDS": "0.001",
            "TRADEBUS_GATEWAY_TENANT_RATE_PER_SECOND": "0.5",
            "TRADEBUS_GATEWAY_TENANT_BURST": "3",
        },
    )
    stack.add("omnirag-ingest", "omnirag-ingest")
    stack.add("omnirag-embed", "omnirag-embed")
    stack.add("notifier", "notifier")
    await stack.start_all()
    client = create_client(MongoSettings())
    from tradebus_gateway.auth import ApiKeyRepository  # the CLI's own code path

    keys = ApiKeyRepository(client[database])
    await keys.create_tenant("tenant-b")
    await keys.add_key("tenant-b", KEY_B)
    try:
        yield stack
    finally:
        await stack.stop_all()
        await client.drop_database(database)
        await client.close()


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with stack.api(KEY_A) as client:
        yield client


@pytest.fixture
async def db(stack: Stack) -> AsyncIterator[Any]:
    async with stack.db() as database:
        yield database


async def upload(api: httpx.AsyncClient, path: Path, **headers: str) -> httpx.Response:
    return await api.post(
        "/v1/rag/documents",
        files={"file": (path.name, path.read_bytes(), TYPES[path.suffix])},
        data={"title": path.stem, "metadata": json.dumps({"source": "e2e"})},
        headers=headers,
    )


async def wait_for(
    api: httpx.AsyncClient, task_id: str, statuses: set[str], timeout: float = 60
) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            task = (await api.get(f"/v1/tasks/{task_id}")).json()
            if task["status"] in statuses:
                return task
            await asyncio.sleep(0.2)


def long_text(words: int, seed: str) -> str:
    sentences = [
        f"Clause {i} of contract {seed} sets the delivery window for shipment lot {i * 7} "
        f"and the penalty of {i % 9 + 1} percent per week of delay."
        for i in range(words // 24)
    ]
    return "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))


@pytest.fixture
async def status_events(stack: Stack) -> AsyncIterator[list[dict[str, Any]]]:
    """Every task.status.changed event, seen by a queue of our own on tradebus.events."""
    connection = await aio_pika.connect(stack.env["RABBITMQ_URL"])
    channel = await connection.channel()
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind("tradebus.events", routing_key="task.status.changed.v1")
    seen: list[dict[str, Any]] = []

    async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        seen.append(json.loads(message.body))
        await message.ack()

    await queue.consume(collect)
    yield seen
    await connection.close()


async def test_documents_of_every_format_are_indexed(api, db, status_events) -> None:
    files = [p for p in sorted(DOCS.iterdir()) if p.name != "corrupt.pdf"]
    assert {p.suffix for p in files} == set(TYPES)
    accepted = []
    for path in files:
        response = await upload(api, path)
        assert response.status_code == 202, response.text
        assert response.headers["Location"] == f"/v1/tasks/{response.json()['task_id']}"
        assert response.json()["status"] == "queued"
        accepted.append(response.json())
    inline = await api.post(
        "/v1/rag/documents",
        json={"title": "Inline memo", "text": long_text(400, "inline"), "metadata": {"k": "v"}},
    )
    assert inline.status_code == 202, inline.text
    accepted.append(inline.json())

    for item in accepted:
        task = await wait_for(api, item["task_id"], {"succeeded", "failed"})
        assert task["status"] == "succeeded", task
        assert task["progress"]["total"] >= 1
        assert task["progress"]["done"] == task["progress"]["total"]
        result = (await api.get(f"/v1/tasks/{item['task_id']}/result")).json()["result"]
        document = item["document_id"]
        assert result["document_id"] == document and result["chunk_count"] > 0
        stored = await chunk_ids(db, document)
        assert stored == await embedded_ids(db, document)
        assert len(stored) == result["chunk_count"]

    await asyncio.sleep(0.5)
    for item in accepted:
        mine = [e["status"] for e in status_events if e["task_id"] == item["task_id"]]
        assert mine == ["running", "succeeded"], mine


async def test_the_idempotency_key_returns_the_same_task(api) -> None:
    key = f"idem-{uuid.uuid4().hex}"
    body = {"title": "Idempotent", "text": "FOB means free on board. " * 20}
    first = await api.post("/v1/rag/documents", json=body, headers={"Idempotency-Key": key})
    second = await api.post("/v1/rag/documents", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 202
    assert first.json()["task_id"] == second.json()["task_id"]
    assert (first.json()["created"], second.json()["created"]) == (True, False)
    listed = (await api.get("/v1/tasks", params={"limit": 200})).json()["items"]
    assert [t["id"] for t in listed].count(first.json()["task_id"]) == 1


async def test_cancel_mid_run_skips_the_unprocessed_batches(api, db, stack) -> None:
    await stack.stop("omnirag-embed")  # batches wait in the queue: the run is mid-way
    try:
        response = await api.post(
            "/v1/rag/documents", json={"title": "Long", "text": long_text(4000, "cancel")}
        )
        task_id = response.json()["task_id"]
        async with asyncio.timeout(30):
            while (await api.get(f"/v1/tasks/{task_id}")).json()["progress"]["total"] is None:
                await asyncio.sleep(0.1)
        live = await api.delete(f"/v1/tasks/{task_id}")
        assert live.status_code == 409 and live.json()["code"] == "not_terminal"
        cancelled = await api.post(f"/v1/tasks/{task_id}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    finally:
        await stack.start("omnirag-embed")
    await stack.drained("omnirag-embed.embed")
    task = (await api.get(f"/v1/tasks/{task_id}")).json()
    assert task["status"] == "cancelled"
    assert task["progress"]["done"] == 0 < task["progress"]["total"]
    assert (
        await db["chunks"].count_documents(
            {"document_id": response.json()["document_id"], "vector": {"$exists": True}}
        )
        == 0
    )
    again = await api.post(f"/v1/tasks/{task_id}/cancel")
    assert again.status_code == 200  # cancelling twice is harmless
    assert (await api.get(f"/v1/tasks/{task_id}/result")).status_code == 410
    assert (await api.delete(f"/v1/tasks/{task_id}")).status_code == 204  # cancel is not delete
    assert (await api.get(f"/v1/tasks/{task_id}")).status_code == 404
    assert (await api.delete(f"/v1/tasks/{task_id}")).status_code == 404


async def test_an_embed_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(
    api, db, stack
) -> None:
    response = await api.post(
        "/v1/rag/documents", json={"title": "Kill me", "text": long_text(6000, "kill")}
    )
    task_id, document = response.json()["task_id"], response.json()["document_id"]
    async with asyncio.timeout(60):
        while (await api.get(f"/v1/tasks/{task_id}")).json()["progress"]["done"] < 2:
            await asyncio.sleep(0.05)
    await stack.kill("omnirag-embed")
    progress = (await api.get(f"/v1/tasks/{task_id}")).json()["progress"]
    assert progress["done"] < progress["total"], "killed too late to prove anything"
    await stack.start("omnirag-embed")
    task = await wait_for(api, task_id, {"succeeded", "failed"}, timeout=120)
    assert task["status"] == "succeeded", task
    assert task["progress"]["done"] == task["progress"]["total"]
    result = (await api.get(f"/v1/tasks/{task_id}/result")).json()["result"]
    ids = await chunk_ids(db, document)
    assert len(ids) == result["chunk_count"]
    assert await embedded_ids(db, document) == ids  # every chunk once, none twice


async def test_a_corrupt_pdf_fails_with_a_reason_and_is_parked(api, stack: Stack) -> None:
    response = await upload(api, DOCS / "corrupt.pdf")
    task_id = response.json()["task_id"]
    task = await wait_for(api, task_id, {"failed", "succeeded"})
    assert task["status"] == "failed"
    assert task["error"]["code"] == "corrupt_document"
    assert "unreadable PDF" in task["error"]["message"]
    result = await api.get(f"/v1/tasks/{task_id}/result")
    assert result.status_code == 410 and "unreadable PDF" in result.json()["message"]
    parked = await take_parked(stack, "omnirag-ingest.ingest.dlq", task_id)
    assert parked.headers["x-tradebus-fault-reason"] == "permanent"
    assert "unreadable PDF" in str(parked.headers["x-tradebus-exception-message"])


async def test_client_errors_are_clear(api, stack) -> None:
    gateway = stack.processes["gateway"].url
    async with httpx.AsyncClient(base_url=gateway) as anonymous:
        missing = await anonymous.get("/v1/tasks")
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
        wrong = await anonymous.get("/v1/tasks", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "unauthorized"
    assert (await api.get("/v1/tasks/does-not-exist")).status_code == 404
    big = await api.post(
        "/v1/rag/documents",
        files={"file": ("big.txt", b"x" * (UPLOAD_LIMIT + 1), "text/plain")},
    )
    assert big.status_code == 413 and big.json()["code"] == "too_large"
    image = await api.post(
        "/v1/rag/documents", files={"file": ("photo.png", b"\x89PNG....", "image/png")}
    )
    assert image.status_code == 415 and "image/png" in image.json()["message"]
    xml = await api.post(
        "/v1/rag/documents", content=b"<a/>", headers={"Content-Type": "application/xml"}
    )
    assert xml.status_code == 415
    no_title = await api.post("/v1/rag/documents", json={"text": "hello"})
    assert no_title.status_code == 422 and no_title.json()["message"].startswith("title")
    both = await api.post(
        "/v1/rag/documents", json={"title": "t", "text": "x", "url": "https://example.com/a"}
    )
    assert both.status_code == 422 and "exactly one" in both.json()["message"]
    bad_json = await api.post(
        "/v1/rag/documents", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 422
    bad_limit = await api.get("/v1/tasks", params={"limit": 0})
    assert bad_limit.status_code == 422


async def test_overload_answers_429_with_retry_after(stack) -> None:
    strict = stack.processes["strict-gateway"].url
    headers = {"Authorization": f"Bearer {KEY_B}"}
    async with httpx.AsyncClient(base_url=strict, headers=headers) as client:
        # Admission: the backlog is "full" (no room at all) once the sampler has looked.
        await asyncio.sleep(1.5)
        before = await db_task_count(stack)
        admission = await client.post("/v1/rag/documents", json={"title": "t", "text": "x"})
        assert admission.status_code == 429 and admission.json()["code"] == "overloaded"
        assert int(admission.headers["Retry-After"]) >= 1
        assert await db_task_count(stack) == before  # refused before any work
        # Per-tenant rate: a burst of 3, then 429 with a wait.
        codes = [(await client.get("/v1/tasks")).status_code for _ in range(4)]
        assert codes[-1] == 429, codes
        limited = await client.get("/v1/tasks")
        assert limited.json()["code"] == "rate_limited"
        # 3 per window of burst / rate = 6 s (sliding): the window says when it admits
        assert 1 <= int(limited.headers["Retry-After"]) <= 6


async def test_a_tenant_never_sees_another_tenants_tasks(api, stack) -> None:
    mine = await api.post("/v1/rag/documents", json={"title": "A's", "text": "secret " * 50})
    task_id = mine.json()["task_id"]
    gateway = stack.processes["gateway"].url
    headers = {"Authorization": f"Bearer {KEY_B}"}
    async with httpx.AsyncClient(base_url=gateway, headers=headers) as other:
        assert (await other.get(f"/v1/tasks/{task_id}")).status_code == 404
        assert (await other.get(f"/v1/tasks/{task_id}/result")).status_code == 404
        assert (await other.delete(f"/v1/tasks/{task_id}")).status_code == 404
        listed = (await other.get("/v1/tasks")).json()["items"]
        assert task_id not in {t["id"] for t in listed}
    assert (await api.get(f"/v1/tasks/{task_id}")).status_code == 200


async def chunk_ids(db: Any, document: str) -> list[str]:
    cursor = db["chunks"].find({"document_id": document}, {"_id": 1}).sort("index", 1)
    return [d["_id"] async for d in cursor]


async def embedded_ids(db: Any, document: str, indexed: bool | None = True) -> list[str]:
    """Chunk ids that have a vector, in chunk order, repeats kept (so duplicates show)."""
    query: dict[str, Any] = {"document_id": document}
    if indexed is not None:
        query["indexed"] = indexed
    batches = [d async for d in db["vectors"].find(query)]
    ids = [cid for batch in batches for cid in batch["chunk_ids"]]
    return sorted(ids, key=lambda cid: int(cid.rsplit(":", 1)[1]))


async def db_task_count(stack: Stack) -> int:
    client = create_client(MongoSettings())
    try:
        return await client[stack.database]["tasks"].count_documents({})
    finally:
        await client.close()


async def take_parked(
    stack: Stack, queue: str, message_id: str
) -> aio_pika.abc.AbstractIncomingMessage:
    """Find the parked message by id and remove it; others go back untouched."""
    connection = await aio_pika.connect(stack.env["RABBITMQ_URL"])
    held: list[aio_pika.abc.AbstractIncomingMessage] = []
    try:
        channel = await connection.channel()
        parking = await channel.get_queue(queue)
        async with asyncio.timeout(10):
            while True:
                msg = await parking.get(fail=False)
                if msg is None:  # not parked yet: give back what we hold and look again
                    for other in held:
                        await other.nack(requeue=True)
                    held.clear()
                    await asyncio.sleep(0.2)
                    continue
                if msg.headers.get("cloudEvents:id") == message_id:
                    await msg.ack()
                    return msg
                held.append(msg)
    finally:
        for other in held:
            await other.nack(requeue=True)
        await connection.close()
