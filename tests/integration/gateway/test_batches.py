"""Batches against the real broker and MongoDB: one parent task over an ordinary ingest
task per document, published like single documents; the parent's status follows its
children (succeeded only if all did, failed if any failed, cancelled after a cancel-all),
settled on read and by the watchdog; admitted or refused as a whole; idempotent; another
tenant's batch is not found. A stand-in ingest worker ends children as each test says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tradebus_contracts import IngestDocument
from tradebus_contracts import TaskStatus as S
from tradebus_gateway.watchdog import Watchdog, WatchdogPolicy
from tradebus_messaging import MessageContext
from tradebus_storage import BlobStore, TaskFlow

from .conftest import KEY_GLOBEX

pytestmark = pytest.mark.integration

GLOBEX = {"Authorization": f"Bearer {KEY_GLOBEX}"}
BOUNDARY = "tb-batch"
FORM = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}

# title -> what the stand-in worker does with that document
Verdict = Callable[[IngestDocument], str]  # "succeed", "fail" or "hold"


class Worker:
    """Consumes ingest commands like omnirag-ingest would, ending each task as told."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.received: list[IngestDocument] = []
        self.flow: TaskFlow | None = None

    async def __call__(self, command: IngestDocument, ctx: MessageContext) -> None:
        self.received.append(command)
        assert self.flow is not None
        action = self.verdict(command)
        if action == "hold":
            return
        started = await self.flow.start(command.tenant_id, command.task_id)
        if started is None:
            return  # cancelled meanwhile
        if action == "fail":
            await self.flow.fail(command.tenant_id, command.task_id, "corrupt_document", "bad")
        else:
            await self.flow.succeed(command.tenant_id, command.task_id, {"chunk_count": 1})

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(20):
            while len(self.received) < count:
                await asyncio.sleep(0.05)


@pytest.fixture
async def worker(ingest_consumer) -> AsyncIterator[Callable[..., Any]]:
    async def start(verdict: Verdict, gateway: Any) -> Worker:
        worker = Worker(verdict)
        worker.flow = TaskFlow(gateway.state.tasks, lambda event: asyncio.sleep(0))
        await ingest_consumer(worker)
        return worker

    yield start


def docs(*titles: str) -> dict[str, Any]:
    return {"documents": [{"title": t, "text": f"{t}: FOB terms."} for t in titles]}


async def until_ended(gateway: Any, task_id: str, headers: dict[str, str] | None = None) -> Any:
    async with asyncio.timeout(30):
        while True:
            body = (await gateway.api.get(f"/v1/tasks/{task_id}", headers=headers or {})).json()
            if body["status"] in ("succeeded", "failed", "cancelled"):
                return body
            await asyncio.sleep(0.1)


async def test_a_batch_is_a_parent_with_an_ordinary_ingest_task_per_document(
    make_gateway, worker
) -> None:
    gateway = await make_gateway()
    ingest = await worker(lambda c: "hold", gateway)
    response = await gateway.api.post("/v1/rag/batches", json=docs("a", "b", "c"))
    assert response.status_code == 202, response.text
    accepted = response.json()
    parent_id = accepted["task_id"]
    assert response.headers["Location"] == f"/v1/tasks/{parent_id}"
    assert accepted["created"] is True and len(accepted["documents"]) == 3
    await ingest.wait_for(3)  # each child's command was published
    assert {c.task_id for c in ingest.received} == {d["task_id"] for d in accepted["documents"]}
    assert all(c.idempotency_key is None for c in ingest.received)

    parent = (await gateway.api.get(f"/v1/tasks/{parent_id}")).json()
    assert parent["kind"] == "rag.batch" and parent["status"] == "queued"
    assert parent["progress"] == {"done": 0, "total": 3}
    assert parent["batch"]["total"] == 3 and parent["batch"]["queued"] == 3

    first = (await gateway.api.get("/v1/tasks", params={"parent": parent_id, "limit": 2})).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = (
        await gateway.api.get(
            "/v1/tasks", params={"parent": parent_id, "limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    children = first["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert {c["id"] for c in children} == {d["task_id"] for d in accepted["documents"]}
    assert {(c["kind"], c["parent_id"]) for c in children} == {("rag.ingest", parent_id)}


async def test_the_parent_fails_with_counts_when_any_document_fails(make_gateway, worker) -> None:
    gateway = await make_gateway()
    await worker(lambda c: "fail" if c.title == "bad" else "succeed", gateway)
    response = await gateway.api.post("/v1/rag/batches", json=docs("a", "bad", "c"))
    parent = await until_ended(gateway, response.json()["task_id"])
    assert parent["status"] == "failed"
    assert parent["error"]["code"] == "documents_failed"
    assert parent["batch"]["succeeded"] == 2 and parent["batch"]["failed"] == 1
    assert parent["progress"] == {"done": 3, "total": 3}
    stored = await gateway.state.tasks.get("acme", parent["id"])
    assert stored is not None
    assert stored.result == {"total": 3, "succeeded": 2, "failed": 1, "cancelled": 0}


async def test_the_parent_succeeds_when_every_document_succeeds(make_gateway, worker) -> None:
    gateway = await make_gateway()
    await worker(lambda c: "succeed", gateway)
    response = await gateway.api.post("/v1/rag/batches", json=docs("a", "b"))
    parent = await until_ended(gateway, response.json()["task_id"])
    assert parent["status"] == "succeeded" and parent["batch"]["succeeded"] == 2
    result = (await gateway.api.get(f"/v1/tasks/{parent['id']}/result")).json()
    assert result["result"] == {"total": 2, "succeeded": 2, "failed": 0, "cancelled": 0}
    history = [h["to"] for h in (await gateway.state.tasks.get("acme", parent["id"])).history]
    assert history == ["queued", "running", "succeeded"]


async def test_cancel_cancels_every_unfinished_document(make_gateway, worker) -> None:
    gateway = await make_gateway()
    ingest = await worker(lambda c: "succeed" if c.title == "quick" else "hold", gateway)
    response = await gateway.api.post("/v1/rag/batches", json=docs("quick", "slow1", "slow2"))
    parent_id = response.json()["task_id"]
    await ingest.wait_for(3)
    quick = next(c for c in ingest.received if c.title == "quick")
    async with asyncio.timeout(20):
        while (await gateway.state.tasks.get("acme", quick.task_id)).status is not S.SUCCEEDED:
            await asyncio.sleep(0.05)
    cancelled = await gateway.api.post(f"/v1/tasks/{parent_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert body["batch"]["succeeded"] == 1 and body["batch"]["cancelled"] == 2
    listed = (await gateway.api.get("/v1/tasks", params={"parent": parent_id})).json()["items"]
    assert sorted(c["status"] for c in listed) == ["cancelled", "cancelled", "succeeded"]
    again = await gateway.api.post(f"/v1/tasks/{parent_id}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


async def test_the_same_idempotency_key_is_the_same_batch(make_gateway) -> None:
    gateway = await make_gateway()
    key = {"Idempotency-Key": "batch-1"}
    first = await gateway.api.post("/v1/rag/batches", json=docs("a", "b"), headers=key)
    second = await gateway.api.post("/v1/rag/batches", json=docs("a", "b"), headers=key)
    assert first.status_code == second.status_code == 202
    assert second.json()["created"] is False
    assert second.json()["task_id"] == first.json()["task_id"]
    assert second.json()["documents"] == first.json()["documents"]
    assert await gateway.state.db["tasks"].count_documents({}) == 3  # one parent, two children
    # a key that named a single document is not a batch
    single = {"Idempotency-Key": "single-1"}
    await gateway.api.post("/v1/rag/documents", json={"title": "t", "text": "x"}, headers=single)
    clash = await gateway.api.post("/v1/rag/batches", json=docs("a"), headers=single)
    assert clash.status_code == 409 and clash.json()["code"] == "idempotency_conflict"


async def test_another_tenants_batch_is_not_found(make_gateway) -> None:
    gateway = await make_gateway()
    parent_id = (await gateway.api.post("/v1/rag/batches", json=docs("a"))).json()["task_id"]
    assert (await gateway.api.get(f"/v1/tasks/{parent_id}", headers=GLOBEX)).status_code == 404
    listed = await gateway.api.get("/v1/tasks", params={"parent": parent_id}, headers=GLOBEX)
    assert listed.status_code == 404
    cancel = await gateway.api.post(f"/v1/tasks/{parent_id}/cancel", headers=GLOBEX)
    assert cancel.status_code == 404
    assert (await gateway.api.get(f"/v1/tasks/{parent_id}")).json()["status"] == "queued"


async def test_a_batch_is_admitted_as_a_whole_or_refused_as_a_whole(make_gateway) -> None:
    gateway = await make_gateway(
        ingest_backlog_floor=6, ingest_tenant_share=1.0, admission_sample_seconds=0.05
    )
    async with asyncio.timeout(15):
        while not gateway.state.admission.sampled:
            await asyncio.sleep(0.02)
    refused = await gateway.api.post("/v1/rag/batches", json=docs(*"abcdefg"))  # 7 > 6
    assert refused.status_code == 429 and refused.json()["code"] == "overloaded"
    assert int(refused.headers["Retry-After"]) >= 1
    assert await gateway.state.db["tasks"].count_documents({}) == 0
    admitted = await gateway.api.post("/v1/rag/batches", json=docs(*"abcd"))
    assert admitted.status_code == 202
    # 4 of 6 taken: a batch of 3 no longer fits, while a single document still does
    assert (await gateway.api.post("/v1/rag/batches", json=docs(*"xyz"))).status_code == 429
    assert (await gateway.api.post("/v1/rag/batches", json=docs("x"))).status_code == 202


async def test_limits_on_count_and_bytes(make_gateway) -> None:
    gateway = await make_gateway(max_batch_documents=2, max_batch_bytes=1000)
    many = await gateway.api.post("/v1/rag/batches", json=docs("a", "b", "c"))
    assert many.status_code == 422 and "at most 2" in many.json()["message"]
    big = {"documents": [{"title": "t", "text": "x" * 600}, {"title": "u", "text": "y" * 600}]}
    assert (await gateway.api.post("/v1/rag/batches", json=big)).status_code == 413
    empty = await gateway.api.post("/v1/rag/batches", json={"documents": []})
    assert empty.status_code == 422
    openapi = (await gateway.api.get("/openapi.json")).json()
    body = openapi["paths"]["/v1/rag/batches"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"]["properties"]["documents"]["maxItems"] == 2


def form(files: list[tuple[str, str, bytes]], documents: str | None = None) -> bytes:
    parts = []
    if documents is not None:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="documents"\r\n\r\n'
            f"{documents}\r\n".encode()
        )
    for name, content_type, data in files:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def test_a_multipart_batch_stores_each_file_and_labels_it(make_gateway) -> None:
    gateway = await make_gateway()
    body = form(
        [("a.txt", "text/plain", b"FOB terms."), ("b.md", "text/markdown", b"# CIF")],
        documents='[{"title": "First", "metadata": {"region": "EU"}}]',
    )
    response = await gateway.api.post("/v1/rag/batches", content=body, headers=FORM)
    assert response.status_code == 202, response.text
    commands = []
    for document in response.json()["documents"]:
        child = await gateway.state.tasks.get("acme", document["task_id"])
        assert child is not None
        commands.append(child.params["command"])
    assert [(c["title"], c["metadata"]) for c in commands] == [
        ("First", {"region": "EU"}),
        ("b.md", {}),
    ]
    blob = await BlobStore(gateway.state.db).get(commands[1]["source"]["blob_id"], tenant_id="acme")
    assert blob.data == b"# CIF"


async def test_a_multipart_batch_with_one_bad_file_stores_nothing(make_gateway) -> None:
    gateway = await make_gateway()
    body = form([("a.txt", "text/plain", b"FOB"), ("b.png", "image/png", b"\x89PNG")])
    response = await gateway.api.post("/v1/rag/batches", content=body, headers=FORM)
    assert response.status_code == 415, response.text
    too_many = form([("a.txt", "text/plain", b"FOB")], documents='[{"title": "a"}, {}]')
    refused = await gateway.api.post("/v1/rag/batches", content=too_many, headers=FORM)
    assert refused.status_code == 422
    misspelt = form([("a.txt", "text/plain", b"FOB")], documents='[{"titel": "a"}]')
    refused = await gateway.api.post("/v1/rag/batches", content=misspelt, headers=FORM)
    assert refused.status_code == 422 and "titel" in refused.json()["message"], refused.text
    assert await gateway.state.db["tasks"].count_documents({}) == 0
    assert await gateway.state.db["blobs.files"].count_documents({}) == 0


async def test_the_watchdog_settles_a_batch_nobody_reads(make_gateway, worker) -> None:
    gateway = await make_gateway()
    ingest = await worker(lambda c: "succeed", gateway)
    parent_id = (await gateway.api.post("/v1/rag/batches", json=docs("a", "b"))).json()["task_id"]
    await ingest.wait_for(2)
    tasks = gateway.state.tasks
    async with asyncio.timeout(20):
        while len(await tasks.unfinished_children("acme", parent_id)) > 0:
            await asyncio.sleep(0.05)
    assert (await tasks.get("acme", parent_id)).status is S.QUEUED  # nobody asked yet
    policy = WatchdogPolicy.from_settings(gateway.state.settings)
    run = await Watchdog(gateway.state.bus, tasks, policy).run_once()
    assert run.settled == 1
    assert (await tasks.get("acme", parent_id)).status is S.SUCCEEDED


async def test_a_batch_past_its_deadline_fails_its_unfinished_documents(
    make_gateway, worker
) -> None:
    gateway = await make_gateway(task_deadline_seconds=0.5, task_deadlines={"rag.ingest": 0.5})
    ingest = await worker(lambda c: "succeed" if c.title == "quick" else "hold", gateway)
    parent_id = (await gateway.api.post("/v1/rag/batches", json=docs("quick", "slow"))).json()[
        "task_id"
    ]
    await ingest.wait_for(2)
    tasks = gateway.state.tasks
    async with asyncio.timeout(20):
        while len(await tasks.unfinished_children("acme", parent_id)) > 1:
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.6)  # past both deadlines
    policy = WatchdogPolicy.from_settings(gateway.state.settings)
    await Watchdog(gateway.state.bus, tasks, policy).run_once()
    parent = await tasks.get("acme", parent_id)
    assert parent is not None and parent.status is S.FAILED
    assert parent.result == {"total": 2, "succeeded": 1, "failed": 1, "cancelled": 0}
    slow = next(c for c in ingest.received if c.title == "slow")
    child = await tasks.get("acme", slow.task_id)
    assert child is not None and child.error is not None
    assert child.error.code == "deadline_exceeded"


async def test_a_full_backlog_is_refused_before_the_request_rate_is_spent(make_gateway) -> None:
    gateway = await make_gateway(
        ingest_backlog_floor=1,
        ingest_tenant_share=1.0,
        admission_sample_seconds=0.05,
        tenant_rate_per_second=1,
        tenant_burst=3,
    )
    async with asyncio.timeout(15):
        while not gateway.state.admission.sampled:
            await asyncio.sleep(0.02)
    assert (await gateway.api.post("/v1/rag/batches", json=docs("a"))).status_code == 202
    async with asyncio.timeout(15):  # sampled with the one accepted document
        while gateway.state.admission.check("acme") == 0:
            await asyncio.sleep(0.02)
    for path in ("/v1/rag/batches", "/v1/rag/documents"):
        for _ in range(3):
            body = docs("b") if path.endswith("batches") else {"title": "t", "text": "x"}
            refused = await gateway.api.post(path, json=body)
            assert refused.status_code == 429 and refused.json()["code"] == "overloaded"
    # six refusals later the tenant's burst of 3 is still there, less the one submission
    assert [(await gateway.api.get("/v1/tasks")).status_code for _ in range(2)] == [200, 200]
