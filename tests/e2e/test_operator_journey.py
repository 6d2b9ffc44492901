"""An operator's journey through the operator API, every service a real process: a
document whose server is down is retried, then parked; the operator finds it in the
parking lot (grouped by reason, with its task), the server comes back, the operator
replays it, and its task revives and succeeds. The replay is in the audit log. A corrupt
PDF, replayed, revives its task too, which fails again (and is parked again).

Recipe for a replay that succeeds (the console's browser test drives the same one):

- stack: gateway, omnirag-ingest, omnirag-embed, with `TRADEBUS_BOOTSTRAP_OPERATOR_KEY`
  (`Stack.operator_key`), `TRADEBUS_OMNIRAG_INGEST_FETCH_ALLOW_NETWORKS=127.0.0.0/8`
  (the document server is local), `TRADEBUS_BUS_MAX_ATTEMPTS=2` and
  `TRADEBUS_BUS_RETRY_BASE_SECONDS=1` (parked within a few seconds);
- a local HTTP server answering `503` (down) at first: submit
  `POST /v1/rag/documents {"title": ..., "url": "http://127.0.0.1:<port>/doc.txt"}`;
- the fetch fails transiently twice and is parked in `omnirag-ingest.ingest.dlq` with
  reason `retries_exhausted`; the task fails (`ingest_failed`), and once the gateway has
  recorded the fault on it (`GET /v1/operator/tasks/{id}` says `"revivable": true`, a
  moment after the message is listed) a replay revives it;
- make the server answer `200` with text; `POST /v1/operator/parking/
  omnirag-ingest.ingest.dlq/replay {"message_ids": [<id>]}` (or `{"all": true}`);
- the task goes failed -> queued -> running -> succeeded (`revivals` 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.stack import Stack, isolated_stack

pytestmark = pytest.mark.e2e

KEY = "tb_e2e_journey_" + uuid.uuid4().hex
LOT = "omnirag-ingest.ingest.dlq"
DOCS = Path(__file__).resolve().parents[2] / "samples" / "documents"
TEXT = ("Incoterms FOB: the seller delivers the goods on board the vessel at the named port. ") * 40


class DocumentServer:
    """A document host that is down (503) until `up` is set."""

    def __init__(self) -> None:
        self.up = False
        self.requests = 0
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # the request line and headers: every request is a GET of the doc
            self.requests += 1
            body = TEXT.encode() if self.up else b"down for maintenance"
            status = "200 OK" if self.up else "503 Service Unavailable"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def document_server() -> AsyncIterator[DocumentServer]:
    server = DocumentServer()
    listener = await _listen(server)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"http://127.0.0.1:{port}/contract.txt"
    async with listener:
        yield server


async def _listen(server: DocumentServer) -> asyncio.Server:
    # A document URL's port has at most four digits (the API's URL pattern): look for a
    # free one there rather than take what the system hands out.
    start = random.randrange(9000, 9900)
    for port in range(start, start + 100):
        with contextlib.suppress(OSError):
            return await asyncio.start_server(server.handle, "127.0.0.1", port)
    raise AssertionError(f"no free port in {start}..{start + 99}")


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with isolated_stack(
        "e2e-operator",
        base_port=19_960,  # other e2e stacks: 18_100 .. 19_940
        logs=tmp_path_factory.mktemp("operator-stack"),
        env={
            "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
            "TRADEBUS_OMNIRAG_INGEST_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
            "TRADEBUS_BUS_MAX_ATTEMPTS": "2",
            "TRADEBUS_BUS_RETRY_BASE_SECONDS": "1",
        },
        services=[
            ("gateway", "gateway"),
            ("omnirag-ingest", "omnirag-ingest"),
            ("omnirag-embed", "omnirag-embed"),
        ],
    ) as running:
        yield running


async def until(check: Any, timeout: float = 90) -> Any:
    async with asyncio.timeout(timeout):
        while not (found := await check()):
            await asyncio.sleep(0.3)
    return found


@pytest.mark.timeout(300)
async def test_a_parked_document_is_found_replayed_and_its_task_succeeds(stack: Stack) -> None:
    base = stack.processes["gateway"].url
    async with (
        document_server() as server,
        httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {KEY}"}) as tenant,
        httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {stack.operator_key}"}
        ) as operator,
    ):
        submitted = await tenant.post(
            "/v1/rag/documents", json={"title": "contract", "url": server.url}
        )
        assert submitted.status_code == 202, submitted.text
        task_id = submitted.json()["task_id"]

        async def failed() -> Any:
            task = (await tenant.get(f"/v1/tasks/{task_id}")).json()
            return task if task["status"] == "failed" else None

        task = await until(failed)
        assert task["error"]["code"] == "ingest_failed"
        assert server.requests == 2  # both attempts reached the (down) server

        async def parked() -> Any:
            answer = await operator.get(f"/v1/operator/parking/{LOT}/messages")
            assert answer.status_code == 200, answer.text
            return [m for m in answer.json()["items"] if m["task_id"] == task_id]

        [message] = await until(parked)
        assert message["reason"] == "retries_exhausted" and message["tenant_id"] == "default"
        assert "503" in message["message"]
        lots = (await operator.get("/v1/operator/parking")).json()["lots"]
        [lot] = [lot for lot in lots if lot["queue"] == LOT]
        assert lot["source"] == "omnirag-ingest.ingest" and lot["count"] >= 1
        assert {"reason": "retries_exhausted", "count": 1} in [
            {"reason": g["reason"], "count": g["count"]} for g in lot["groups"]
        ]
        seen = (await operator.get("/v1/operator/tasks", params={"status": "failed"})).json()
        assert task_id in [t["id"] for t in seen["items"]]

        async def revivable() -> Any:  # the gateway recorded the fault on the task
            return (await operator.get(f"/v1/operator/tasks/{task_id}")).json()["revivable"]

        await until(revivable)
        server.up = True
        replayed = await operator.post(
            f"/v1/operator/parking/{LOT}/replay", json={"message_ids": [message["message_id"]]}
        )
        assert replayed.status_code == 200, replayed.text
        answer = replayed.json()
        assert (answer["replayed"], answer["limit_reached"]) == (1, False), answer
        assert 0 <= answer["left_in_lot"] < lot["count"]  # the replayed one has left

        async def succeeded() -> Any:
            task = (await operator.get(f"/v1/operator/tasks/{task_id}")).json()
            return task if task["status"] == "succeeded" else None

        done = await until(succeeded)
        assert done["revivals"] == 1
        assert [h["status"] for h in done["history"]][-4:] == [
            "failed",
            "queued",
            "running",
            "succeeded",
        ]
        assert done["result"]["chunk_count"] >= 1
        audit = await operator.get("/v1/operator/audit", params={"action": "parking.replay"})
        [row] = audit.json()["items"]
        assert (row["target"], row["outcome"], row["details"]["replayed"]) == (LOT, "ok", 1)
        assert not await parked()


@pytest.mark.timeout(300)
async def test_a_replayed_corrupt_pdf_revives_its_task_which_fails_again(stack: Stack) -> None:
    base = stack.processes["gateway"].url
    async with (
        httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {KEY}"}) as tenant,
        httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {stack.operator_key}"}
        ) as operator,
    ):
        pdf = (DOCS / "corrupt.pdf").read_bytes()
        submitted = await tenant.post(
            "/v1/rag/documents",
            files={"file": ("corrupt.pdf", pdf, "application/pdf")},
            data={"title": "corrupt"},
        )
        assert submitted.status_code == 202, submitted.text
        task_id = submitted.json()["task_id"]

        async def parked() -> Any:
            answer = await operator.get(f"/v1/operator/parking/{LOT}/messages")
            return [m for m in answer.json()["items"] if m["task_id"] == task_id]

        async def revivable() -> Any:
            task = (await operator.get(f"/v1/operator/tasks/{task_id}")).json()
            return task if task["revivable"] else None

        [message] = await until(parked)
        assert message["reason"] == "permanent" and "corrupt_document" in message["message"]
        failed = await until(revivable)
        assert failed["error"]["code"] == "corrupt_document"

        replayed = await operator.post(f"/v1/operator/parking/{LOT}/replay", json={"all": True})
        assert replayed.json()["replayed"] >= 1

        async def failed_again() -> Any:
            task = (await operator.get(f"/v1/operator/tasks/{task_id}")).json()
            return task if task["revivals"] == 1 and task["status"] == "failed" else None

        again = await until(failed_again)
        statuses = [h["status"] for h in again["history"]]
        assert statuses[-3:] == ["queued", "running", "failed"]  # revived, ran, failed
        assert again["error"]["code"] == "corrupt_document"
        [back] = await until(parked)  # parked once more, as a new fault
        assert back["reason"] == "permanent"
