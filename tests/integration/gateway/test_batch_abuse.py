"""The batch routes as an attacker would use them: another tenant's batch and children
are not found (read, list, cancel, delete); a batch past its count or bytes is refused
before anything is stored, however the body is framed; the same Idempotency-Key sent
at once many times is one batch; a multipart of hundreds of tiny parts is bounded; a
cancel of a batch that ended on its own is a 409, never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tradebus_contracts import IngestDocument
from tradebus_messaging import MessageContext
from tradebus_storage import TaskFlow

from .conftest import KEY_GLOBEX

pytestmark = pytest.mark.integration

GLOBEX = {"Authorization": f"Bearer {KEY_GLOBEX}"}
BOUNDARY = "tb-abuse"
FORM = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def docs(*titles: str) -> dict[str, Any]:
    return {"documents": [{"title": t, "text": f"{t}: FOB terms."} for t in titles]}


def form(files: list[bytes], **fields: str) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for i, data in enumerate(files):
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f{i}.txt"'
            "\r\nContent-Type: text/plain\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def nothing_stored(gateway: Any) -> bool:
    db = gateway.state.db
    return await db["tasks"].count_documents({}) == 0 and (
        await db["blobs.files"].count_documents({}) == 0
    )


@pytest.fixture
async def succeed_all(ingest_consumer) -> AsyncIterator[Any]:
    """A stand-in ingest worker that succeeds every document it receives."""

    async def start(gateway: Any) -> None:
        flow = TaskFlow(gateway.state.tasks, lambda event: asyncio.sleep(0))

        async def handle(command: IngestDocument, ctx: MessageContext) -> None:
            if await flow.start(command.tenant_id, command.task_id) is not None:
                await flow.succeed(command.tenant_id, command.task_id, {"chunk_count": 1})

        await ingest_consumer(handle)

    yield start


async def test_another_tenants_batch_children_are_not_found(make_gateway) -> None:
    gateway = await make_gateway()
    accepted = (await gateway.api.post("/v1/rag/batches", json=docs("a", "b"))).json()
    parent_id = accepted["task_id"]
    child_id = accepted["documents"][0]["task_id"]
    api = gateway.api
    for path in (f"/v1/tasks/{child_id}", f"/v1/tasks/{child_id}/result"):
        assert (await api.get(path, headers=GLOBEX)).status_code == 404
    assert (await api.post(f"/v1/tasks/{child_id}/cancel", headers=GLOBEX)).status_code == 404
    assert (await api.delete(f"/v1/tasks/{parent_id}", headers=GLOBEX)).status_code == 404
    for params in (
        {"parent": parent_id},
        {"parent": child_id},
        {"parent": parent_id, "kind": "rag.ingest"},
    ):
        listed = await api.get("/v1/tasks", params=params, headers=GLOBEX)
        assert listed.status_code == 404, (params, listed.text)
    own = (await api.get("/v1/tasks", headers=GLOBEX)).json()["items"]
    assert own == []
    # acme still sees its batch as it was
    assert (await api.get(f"/v1/tasks/{child_id}")).json()["status"] == "queued"


async def test_a_child_is_not_a_batch_to_list(make_gateway) -> None:
    gateway = await make_gateway()
    accepted = (await gateway.api.post("/v1/rag/batches", json=docs("a"))).json()
    child_id = accepted["documents"][0]["task_id"]
    listed = await gateway.api.get("/v1/tasks", params={"parent": child_id})
    assert listed.status_code == 404 and listed.json()["code"] == "not_found"


async def test_past_the_bytes_however_framed_nothing_is_stored(make_gateway) -> None:
    gateway = await make_gateway(max_batch_bytes=4_000, max_upload_bytes=3_000)
    api = gateway.api
    # multipart past the batch's bytes, each file within its own limit
    big = form([b"x" * 2_500, b"y" * 2_500])
    assert (await api.post("/v1/rag/batches", content=big, headers=FORM)).status_code == 413
    # one file past its own limit
    one = form([b"x" * 3_001])
    assert (await api.post("/v1/rag/batches", content=one, headers=FORM)).status_code == 413

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        head, tail = form([b""]).split(b"\r\n--")[0], f"\r\n--{BOUNDARY}--\r\n".encode()
        yield head
        for _ in range(200):
            yield b"z" * 1_000
        yield tail

    streamed = await api.post("/v1/rag/batches", content=chunked(), headers=FORM)
    assert streamed.status_code == 413, streamed.text
    # JSON: the sum of inline text past the batch's bytes, each text within its own
    texts = {"documents": [{"title": f"t{i}", "text": "x" * 1_500} for i in range(3)]}
    assert (await api.post("/v1/rag/batches", json=texts)).status_code == 413
    assert await nothing_stored(gateway)


async def test_hundreds_of_tiny_parts_are_refused_past_the_count(make_gateway) -> None:
    gateway = await make_gateway(max_batch_documents=50)
    api = gateway.api
    files = await api.post("/v1/rag/batches", content=form([b"x"] * 300), headers=FORM)
    assert files.status_code == 422, files.text
    fields = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="documents"\r\n\r\n[]\r\n'
        for _ in range(300)
    )
    many_fields = (fields + f"--{BOUNDARY}--\r\n").encode()
    refused = await api.post("/v1/rag/batches", content=many_fields, headers=FORM)
    assert refused.status_code == 422, refused.text
    nameless = (f"--{BOUNDARY}\r\n\r\nx\r\n" * 300 + f"--{BOUNDARY}--\r\n").encode()
    refused = await api.post("/v1/rag/batches", content=nameless, headers=FORM)
    assert refused.status_code == 422, refused.text
    empty = await api.post("/v1/rag/batches", content=form([b""] * 50), headers=FORM)
    assert empty.status_code == 422, empty.text
    assert await nothing_stored(gateway)
    tiny = await api.post("/v1/rag/batches", content=form([b"x"] * 50), headers=FORM)
    assert tiny.status_code == 202 and len(tiny.json()["documents"]) == 50


async def test_the_same_idempotency_key_at_once_is_one_batch(make_gateway) -> None:
    gateway = await make_gateway()
    key = {"Idempotency-Key": "race-1"}
    answers = await asyncio.gather(
        *(gateway.api.post("/v1/rag/batches", json=docs("a", "b"), headers=key) for _ in range(8))
    )
    assert [a.status_code for a in answers] == [202] * 8, [a.text for a in answers]
    assert len({a.json()["task_id"] for a in answers}) == 1
    assert sum(a.json()["created"] for a in answers) == 1
    assert len({str(a.json()["documents"]) for a in answers}) == 1
    assert await gateway.state.db["tasks"].count_documents({}) == 3


async def test_the_same_idempotency_key_with_big_text_leaves_no_stray_blob(
    make_gateway,
) -> None:
    gateway = await make_gateway(inline_text_max_publish_bytes=10)
    key = {"Idempotency-Key": "blobs-1"}
    body = {"documents": [{"title": "t", "text": "x" * 100}]}
    for _ in range(3):
        answer = await gateway.api.post("/v1/rag/batches", json=body, headers=key)
        assert answer.status_code == 202
    assert await gateway.state.db["blobs.files"].count_documents({}) == 1  # the first's


async def test_cancelling_a_batch_that_ended_on_its_own_is_409(make_gateway, succeed_all) -> None:
    gateway = await make_gateway()
    await succeed_all(gateway)
    parent_id = (await gateway.api.post("/v1/rag/batches", json=docs("a", "b"))).json()["task_id"]
    tasks = gateway.state.tasks
    async with asyncio.timeout(20):
        while await tasks.unfinished_children("acme", parent_id):
            await asyncio.sleep(0.05)
    assert (await tasks.get("acme", parent_id)).status.value == "queued"  # nobody read it yet
    refused = await gateway.api.post(f"/v1/tasks/{parent_id}/cancel")
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "already_finished"
    again = await gateway.api.post(f"/v1/tasks/{parent_id}/cancel")
    assert again.status_code == 409
    assert (await gateway.api.get(f"/v1/tasks/{parent_id}")).json()["status"] == "succeeded"
    gone = await gateway.api.delete(f"/v1/tasks/{parent_id}")
    assert gone.status_code == 204
    assert (await gateway.api.post(f"/v1/tasks/{parent_id}/cancel")).status_code == 404


async def test_a_batchs_idempotency_key_is_no_document_key(make_gateway) -> None:
    gateway = await make_gateway()
    key = {"Idempotency-Key": "shared-1"}
    batch = await gateway.api.post("/v1/rag/batches", json=docs("a"), headers=key)
    assert batch.status_code == 202
    single = {"title": "t", "text": "x"}
    clash = await gateway.api.post("/v1/rag/documents", json=single, headers=key)
    assert clash.status_code == 409 and clash.json()["code"] == "idempotency_conflict"
    assert await gateway.state.db["tasks"].count_documents({}) == 2  # the batch and its child


async def test_fields_given_wrong_are_refused_not_ignored(make_gateway) -> None:
    gateway = await make_gateway()
    api = gateway.api
    misspelt = await api.post("/v1/rag/batches", json={**docs("a"), "priorty": "high"})
    assert misspelt.status_code == 422 and "priorty" in misspelt.json()["message"]
    twice = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="priority"\r\n\r\nbulk\r\n'.encode()
        + form([b"x"], priority="high")
    )
    refused = await api.post("/v1/rag/batches", content=twice, headers=FORM)
    assert refused.status_code == 422 and "priority" in refused.json()["message"]
    described = "[" + ",".join(["{}"] * 100_000) + "]"  # far more than files, under 1 MiB
    refused = await api.post(
        "/v1/rag/batches", content=form([b"x"], documents=described), headers=FORM
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["message"] == "documents: 100000 items for 1 files"
    assert await nothing_stored(gateway)
