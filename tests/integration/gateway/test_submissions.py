"""Submissions and task lifecycle against the real MongoDB and broker: limits in UTF-8
bytes, large inline text stored in GridFS and sent by reference, uploads cut off while
streaming (no Content-Length), bad input answered 4xx with the error body, cancel is
not delete."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from tradebus_contracts import AskReply, AskRequest, TaskStatus
from tradebus_storage import BlobStore

pytestmark = pytest.mark.integration

BOUNDARY = "tb-boundary"
CJK = "贸易条款规定卖方在指定港口交货。" * 25_000  # 400,000 characters, 1.2 MB of UTF-8


def multipart(data: bytes, **fields: str) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    )
    return "".join(parts).encode() + head.encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


async def chunked(body: bytes, sent: list[int], size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """The body as a stream of unknown length: httpx sends no Content-Length."""
    for i in range(0, len(body), size):
        sent.append(size)
        yield body[i : i + size]


FORM = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def test_a_cjk_inline_document_goes_to_gridfs_and_the_command_stays_small(
    make_gateway,
) -> None:
    gateway = await make_gateway()
    response = await gateway.api.post(
        "/v1/rag/documents", json={"title": "条款", "text": CJK, "metadata": {"lang": "zh"}}
    )
    assert response.status_code == 202, response.text
    task = await gateway.state.tasks.get("acme", response.json()["task_id"])
    assert task is not None
    command = task.params["command"]
    assert command["source"]["kind"] == "upload"
    assert len(json.dumps(command).encode()) < 4096  # a reference, not 1.2 MB of text
    blob = await BlobStore(gateway.state.db).get(command["source"]["blob_id"], tenant_id="acme")
    assert blob.data.decode("utf-8") == CJK and blob.content_type == "text/plain"


async def test_small_inline_text_still_travels_in_the_command(make_gateway) -> None:
    gateway = await make_gateway()
    response = await gateway.api.post("/v1/rag/documents", json={"title": "t", "text": "中文"})
    assert response.status_code == 202, response.text
    task = await gateway.state.tasks.get("acme", response.json()["task_id"])
    assert task is not None and task.params["command"]["source"] == {"kind": "text", "text": "中文"}


async def test_inline_text_over_the_document_limit_in_bytes_is_413(make_gateway) -> None:
    # 400,000 characters are under a 1,000,000 limit in characters, not in bytes.
    gateway = await make_gateway(max_upload_bytes=1_000_000)
    response = await gateway.api.post("/v1/rag/documents", json={"title": "t", "text": CJK})
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "too_large"
    items, _ = await gateway.state.tasks.page("acme")
    assert items == []


async def test_a_chunked_upload_without_content_length_is_cut_off_at_the_limit(
    make_gateway,
) -> None:
    gateway = await make_gateway(max_upload_bytes=200_000)
    body, sent = multipart(b"x" * 3_000_000, title="big"), []
    response = await gateway.api.post(
        "/v1/rag/documents", content=chunked(body, sent), headers=FORM
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "too_large"
    # The gateway stopped reading near the limit, long before the 3 MB were sent.
    assert sum(sent) < 600_000


async def test_a_chunked_upload_within_the_limit_is_accepted(make_gateway) -> None:
    gateway = await make_gateway(max_upload_bytes=200_000)
    body = multipart(b"FOB: the seller delivers. " * 4000, title="fob", metadata='{"k": "v"}')
    response = await gateway.api.post("/v1/rag/documents", content=chunked(body, []), headers=FORM)
    assert response.status_code == 202, response.text
    task = await gateway.state.tasks.get("acme", response.json()["task_id"])
    assert task is not None and task.params["command"]["metadata"] == {"k": "v"}


@pytest.mark.parametrize(
    "body",
    [
        {"title": "t", "text": "x", "metadata": {"a\u0000b": "v"}},
        {"title": "t", "text": "x", "metadata": {"k": "v\u0000"}},
        {"title": "t", "text": "x", "metadata": {"$gt": "v"}},
        {"title": "t", "text": "x", "metadata": {"a.b": "v"}},
        {"title": "t", "text": "x", "url": "https://example.com/"},
        {"title": "t", "text": None, "url": "https://example.com/"},
        {"title": "t", "url": "ftp://example.com/"},
    ],
)
async def test_bad_documents_are_422_with_the_error_body(make_gateway, body) -> None:
    gateway = await make_gateway()
    response = await gateway.api.post("/v1/rag/documents", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"


async def test_bad_multipart_metadata_and_undecodable_json_are_422(make_gateway) -> None:
    gateway = await make_gateway()
    for metadata in ('{"a\\u0000": "v"}', "[]", "not json", '{"k": 1}'):
        body = multipart(b"hello", metadata=metadata)
        response = await gateway.api.post("/v1/rag/documents", content=body, headers=FORM)
        assert response.status_code == 422, (metadata, response.text)
    response = await gateway.api.post(
        "/v1/dealbrain/ask", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("timeout", "status"),
    [
        ("5e-324", 200),
        ("1e308", 200),
        ("1e9999", 200),
        ("0", 200),
        ("0.001", 200),
        ("nan", 422),
        ("inf", 422),
        ("-1", 422),
        ("1_0", 422),
    ],
)
async def test_absurd_request_timeouts_are_clamped_or_refused_never_5xx(
    make_gateway, serve, timeout, status
) -> None:
    def answer(request: AskRequest) -> AskReply:
        return AskReply(answer="ok", session_id=request.session_id)

    await serve("dealbrain.ask.v1", answer, queue="dealbrain.ask")
    gateway = await make_gateway()
    response = await gateway.api.post(
        "/v1/dealbrain/ask", json={"question": "q"}, headers={"X-Request-Timeout": timeout}
    )
    assert response.status_code == status, response.text
    assert set(response.json()) >= ({"answer"} if status == 200 else {"code", "message"})


async def test_cancel_is_not_delete(make_gateway) -> None:
    gateway = await make_gateway()
    task_id = (
        await gateway.api.post("/v1/rag/documents", json={"title": "t", "text": "x"})
    ).json()["task_id"]
    live = await gateway.api.delete(f"/v1/tasks/{task_id}")
    assert live.status_code == 409 and live.json()["code"] == "not_terminal"
    cancelled = await gateway.api.post(f"/v1/tasks/{task_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await gateway.api.post(f"/v1/tasks/{task_id}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    assert (await gateway.api.get(f"/v1/tasks/{task_id}")).json()["status"] == "cancelled"
    deleted = await gateway.api.delete(f"/v1/tasks/{task_id}")
    assert deleted.status_code == 204 and deleted.content == b""
    for method, path in (
        ("GET", f"/v1/tasks/{task_id}"),
        ("DELETE", f"/v1/tasks/{task_id}"),
        ("POST", f"/v1/tasks/{task_id}/cancel"),
    ):
        gone = await gateway.api.request(method, path)
        assert gone.status_code == 404, (method, gone.text)


async def test_deleting_an_uploaded_task_deletes_its_blob(make_gateway) -> None:
    gateway = await make_gateway()
    response = await gateway.api.post(
        "/v1/rag/documents", content=multipart(b"hello", title="h"), headers=FORM
    )
    task_id = response.json()["task_id"]
    task = await gateway.state.tasks.get("acme", task_id)
    assert task is not None
    blob_id = task.params["command"]["source"]["blob_id"]
    assert (await gateway.api.post(f"/v1/tasks/{task_id}/cancel")).status_code == 200
    assert (await gateway.api.delete(f"/v1/tasks/{task_id}")).status_code == 204
    assert await gateway.state.db["blobs.files"].count_documents({"_id": {"$exists": True}}) == 0
    assert blob_id


async def test_cancelling_a_task_that_ended_otherwise_is_409(make_gateway) -> None:
    gateway = await make_gateway()
    task_id = (
        await gateway.api.post("/v1/rag/documents", json={"title": "t", "text": "x"})
    ).json()["task_id"]
    tasks = gateway.state.tasks
    assert await tasks.transition("acme", task_id, TaskStatus.RUNNING)
    assert await tasks.transition("acme", task_id, TaskStatus.SUCCEEDED, result={"n": 1})
    refused = await gateway.api.post(f"/v1/tasks/{task_id}/cancel")
    assert refused.status_code == 409 and refused.json()["code"] == "already_finished"
    assert (await gateway.api.delete(f"/v1/tasks/{task_id}")).status_code == 204


async def test_another_tenants_task_can_be_neither_cancelled_nor_deleted(make_gateway) -> None:
    from .conftest import KEY_GLOBEX

    gateway = await make_gateway()
    task_id = (
        await gateway.api.post("/v1/rag/documents", json={"title": "t", "text": "x"})
    ).json()["task_id"]
    other = {"Authorization": f"Bearer {KEY_GLOBEX}"}
    assert (await gateway.api.post(f"/v1/tasks/{task_id}/cancel", headers=other)).status_code == 404
    assert (await gateway.api.delete(f"/v1/tasks/{task_id}", headers=other)).status_code == 404
    assert (await gateway.api.get(f"/v1/tasks/{task_id}")).json()["status"] == "queued"


async def test_a_method_not_allowed_names_every_method_of_the_path(make_gateway) -> None:
    gateway = await make_gateway()
    response = await gateway.api.patch("/v1/tasks/abc")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "DELETE"}
    assert response.json()["code"] == "method_not_allowed"
