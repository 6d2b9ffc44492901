"""`tradebus ingest` against the real gateway app (real broker and MongoDB): a folder in
batches within the gateway's stated limit, at the priority asked for, followed to the
end through a stand-in ingest worker; a file the gateway refuses is reported alone and
the others are ingested."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from tests.integration.gateway.conftest import KEY_ACME
from tradebus_cli import CliSettings, Session, app
from tradebus_contracts import IngestDocument
from tradebus_messaging import MessageContext
from tradebus_storage import TaskFlow

from .conftest import AppTransport

pytestmark = pytest.mark.integration


@pytest.fixture
async def worker(ingest_consumer) -> AsyncIterator[Callable[[Any], Any]]:
    """Ends every ingest task it receives: failed for a title starting `bad`, else
    succeeded (what omnirag-ingest would do, without parsing)."""

    async def start(gateway: Any) -> None:
        flow = TaskFlow(gateway.state.tasks, lambda event: asyncio.sleep(0))

        async def handle(command: IngestDocument, ctx: MessageContext) -> None:
            if await flow.start(command.tenant_id, command.task_id) is None:
                return
            if command.title.startswith("bad"):
                await flow.fail(command.tenant_id, command.task_id, "corrupt_document", "bad")
            else:
                await flow.succeed(command.tenant_id, command.task_id, {"chunk_count": 1})

        await ingest_consumer(handle)

    yield start


async def tradebus(transport: httpx.BaseTransport, *args: str) -> Result:
    settings = CliSettings(url="http://gateway", api_key=KEY_ACME)
    session = Session(settings, transport=transport)
    # Bounded, so a stuck batch fails the test with the command's output.
    argv = [*args, "--timeout", "60"] if args[0] == "ingest" else list(args)
    return await asyncio.to_thread(CliRunner().invoke, app, argv, obj=session)


class WithoutOpenApi(httpx.BaseTransport):
    """A gateway that does not publish its OpenAPI: the client learns no limits."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/openapi.json":
            return httpx.Response(404, json={"code": "not_found", "message": "not here"})
        return self._inner.handle_request(request)


async def test_a_folder_in_batches_at_a_priority_followed_to_the_end(
    make_gateway, worker, tmp_path: Path
) -> None:
    gateway = await make_gateway(max_batch_documents=2)
    await worker(gateway)
    for name in ("a.txt", "b.md", "bad-c.txt", "d.html", "e.txt"):
        (tmp_path / name).write_text(f"{name}: FOB terms")
    transport = AppTransport(gateway.app, asyncio.get_running_loop())
    ran = await tradebus(
        transport, "ingest", str(tmp_path), "--priority", "high", "--poll", "0.05", "--json"
    )
    assert ran.exit_code == 1, ran.output  # one document failed
    out = json.loads(ran.stdout)
    assert [b["documents"] for b in out["batches"]] == [2, 2, 1]  # the gateway's limit of 2
    assert {b["status"] for b in out["batches"]} == {"succeeded", "failed"}
    statuses = {r["file"]: r["status"] for r in out["items"]}
    assert statuses == {
        "a.txt": "succeeded",
        "b.md": "succeeded",
        "bad-c.txt": "failed",
        "d.html": "succeeded",
        "e.txt": "succeeded",
    }
    assert "ingesting" in ran.stderr
    tasks = gateway.state.tasks
    for row in out["items"]:
        child = await tasks.get("acme", row["task_id"])
        assert child is not None and child.parent_id == row["batch_id"]
        assert child.params["priority"] == "high"
    again = await tradebus(transport, "ingest", str(tmp_path), "--priority", "high", "--json")
    assert [b["task_id"] for b in json.loads(again.stdout)["batches"]] == [
        b["task_id"] for b in out["batches"]
    ]  # the same files: the same batches, nothing new
    assert await gateway.state.db["tasks"].count_documents({"kind": "rag.batch"}) == 3


async def test_a_file_the_gateway_refuses_is_reported_and_the_rest_are_ingested(
    make_gateway, worker, tmp_path: Path
) -> None:
    gateway = await make_gateway(max_upload_bytes=1_000)
    await worker(gateway)
    (tmp_path / "a.txt").write_text("FOB terms")
    (tmp_path / "big.txt").write_bytes(b"x" * 2_000)
    (tmp_path / "c.txt").write_text("CIF terms")
    transport = WithoutOpenApi(AppTransport(gateway.app, asyncio.get_running_loop()))
    ran = await tradebus(transport, "ingest", str(tmp_path), "--poll", "0.05", "--json")
    assert ran.exit_code == 1, ran.output
    items = {r["file"]: r for r in json.loads(ran.stdout)["items"]}
    assert items["big.txt"]["status"] == "refused"
    assert items["big.txt"]["error"]["code"] == "too_large"  # the gateway's 413
    assert {items[n]["status"] for n in ("a.txt", "c.txt")} == {"succeeded"}
    assert "error: big.txt: too_large" in ran.stderr
    assert await gateway.state.db["tasks"].count_documents({"kind": "rag.ingest"}) == 2
