"""Documents as resources through the gateway, every service a real process: list (filters,
cursor paging), read, reindex (a new version replaces the old one atomically) and delete,
tenant isolation of each, and deletion propagating to two dealbrain replicas: once the
delete has returned, neither replica cites the document after its `document deleted`
event has reached it. That propagation time is the bound, measured and printed here.

Each replica's in-memory index is observed through its own /metrics
(`tradebus_retrieval_index_chunks{tenant}`), so the test knows when each replica has
loaded the tenant and when each has dropped the document."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support.infra import require_mongodb, require_rabbitmq
from tests.support.local_http import GATEWAY_FETCHABLE, QuietHandler, local_server
from tests.support.stack import Stack
from tests.support.vhost import isolated_vhost
from tradebus_gateway.auth import ApiKeyRepository
from tradebus_storage import MongoSettings, create_client

pytestmark = pytest.mark.e2e

ACME_KEY = "tb_e2e_docs_acme_" + uuid.uuid4().hex
GLOBEX_KEY = "tb_e2e_docs_globex_" + uuid.uuid4().hex
ACME = "default"  # the bootstrap key's tenant
REPLICAS = ("dealbrain-a", "dealbrain-b")
SHARED = (
    "Every shipment of lithium batteries needs a UN38.3 test summary and a dangerous "
    "goods declaration signed by a certified shipper."
)
PROPAGATION_TIMEOUT = 10.0  # the bound the delete guarantees, far above what is measured


@dataclass
class Site:
    """A document served over HTTP whose content the test changes (for reindex)."""

    body: bytes = b""
    port: int = 0
    requests: list[str] = field(default_factory=list)


@contextlib.contextmanager
def serving() -> Iterator[Site]:
    site = Site()

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            site.requests.append(self.path)
            self.reply(200, site.body, "text/plain; charset=utf-8")

    with local_server(Handler, ports=GATEWAY_FETCHABLE) as site.port:
        yield site


@dataclass
class Docs:
    stack: Stack
    site: Site
    db: Any


@pytest.fixture(scope="module")
async def docs(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Docs]:
    require_rabbitmq()
    require_mongodb()
    database = f"e2e_documents_{uuid.uuid4().hex[:10]}"
    client = create_client(MongoSettings())
    db = client[database]
    # A second tenant with its key, before the gateway starts (no key cache to wait out).
    keys = ApiKeyRepository(db)
    await keys.create_tenant("globex")
    await keys.add_key("globex", GLOBEX_KEY, label="e2e")
    with serving() as site:
        async with isolated_vhost("e2e-documents") as amqp_url:
            stack = Stack(
                database=database,
                base_port=19_300,  # other e2e stacks: 18_100 .. 19_150
                logs=tmp_path_factory.mktemp("documents-logs"),
                env={
                    "RABBITMQ_URL": amqp_url,
                    "TRADEBUS_LOG_JSON": "true",
                    "TRADEBUS_BOOTSTRAP_API_KEY": ACME_KEY,
                    "TRADEBUS_OMNIRAG_INGEST_FETCH_ALLOW_NETWORKS": "127.0.0.1/32",
                },
            )
            for name, service in (
                ("gateway", "gateway"),
                ("omnirag-ingest", "omnirag-ingest"),
                ("omnirag-embed", "omnirag-embed"),
            ):
                stack.add(name, service)
            for replica in REPLICAS:
                stack.add(replica, "dealbrain", env={"TRADEBUS_DEALBRAIN_REPLICA_ID": replica})
            await stack.start_all()
            try:
                yield Docs(stack, site, db)
            finally:
                await stack.stop_all()
                await client.drop_database(database)
                await client.close()


@pytest.fixture
async def acme(docs: Docs) -> AsyncIterator[httpx.AsyncClient]:
    async with docs.stack.api(ACME_KEY) as api:
        yield api


@pytest.fixture
async def globex(docs: Docs) -> AsyncIterator[httpx.AsyncClient]:
    async with docs.stack.api(GLOBEX_KEY) as api:
        yield api


async def finished(api: httpx.AsyncClient, task_id: str, timeout: float = 90) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            task = (await api.get(f"/v1/tasks/{task_id}")).json()
            if task["status"] in ("succeeded", "failed", "cancelled"):
                return task
            await asyncio.sleep(0.1)


async def submit(
    api: httpx.AsyncClient, title: str, text: str, metadata: dict[str, str] | None = None
) -> str:
    """Ingest inline text; returns the document id once its task has succeeded."""
    response = await api.post(
        "/v1/rag/documents", json={"title": title, "text": text, "metadata": metadata or {}}
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    task = await finished(api, accepted["task_id"])
    assert task["status"] == "succeeded", task
    return str(accepted["document_id"])


async def ask(api: httpx.AsyncClient, question: str) -> set[str]:
    response = await api.post("/v1/dealbrain/ask", json={"question": question, "top_k": 5})
    assert response.status_code == 200, response.text
    return {c["document_id"] for c in response.json()["citations"]}


async def index_chunks(stack: Stack, replica: str, tenant: str) -> int | None:
    """The replica's in-memory chunk count for the tenant (None: not loaded there)."""
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{stack.processes[replica].url}/metrics")).text
    found = re.search(
        rf'^tradebus_retrieval_index_chunks\{{tenant="{re.escape(tenant)}"\}} ([0-9.e+]+)$',
        text,
        re.M,
    )
    return None if found is None else int(float(found.group(1)))


def dropped_at(stack: Stack, replica: str, document_id: str) -> float:
    """When the replica logged dropping the document (epoch seconds)."""
    log = stack.processes[replica].log
    assert log is not None
    for line in log.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if (
                entry.get("event") == "deleted document dropped"
                and entry.get("document_id") == document_id
            ):
                stamp = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
                return stamp.timestamp()
    raise AssertionError(f"{replica} never logged dropping {document_id}")


async def test_list_filters_and_pages_the_tenants_documents(acme, globex) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = [
        await submit(
            acme,
            f"Contract {tag} {n}",
            f"Clause {n} of contract {tag}: delivery within {n + 2} weeks of the order.",
            {"batch": tag, "region": "EU" if n % 2 else "US"},
        )
        for n in range(3)
    ]
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, "metadata": f"batch={tag}"}
        if cursor:
            params["cursor"] = cursor
        body = (await acme.get("/v1/rag/documents", params=params)).json()
        pages.append([d["id"] for d in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [[ids[2], ids[1]], [ids[0]]]  # newest first, two pages
    eu = await acme.get("/v1/rag/documents", params={"metadata": [f"batch={tag}", "region=EU"]})
    assert [d["id"] for d in eu.json()["items"]] == [ids[1]]
    titled = await acme.get("/v1/rag/documents", params={"title": f"contract {tag} 2"})
    assert [d["id"] for d in titled.json()["items"]] == [ids[2]]
    indexed = await acme.get(
        "/v1/rag/documents", params={"status": "indexed", "metadata": f"batch={tag}"}
    )
    assert len(indexed.json()["items"]) == 3
    future = await acme.get("/v1/rag/documents", params={"created_after": "2999-01-01T00:00:00Z"})
    assert future.json()["items"] == []
    bad = await acme.get("/v1/rag/documents", params={"cursor": "garbage"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"
    one = (await acme.get(f"/v1/rag/documents/{ids[0]}")).json()
    assert one["status"] == "indexed" and one["chunk_count"] >= 1 and one["version"] == 1
    assert one["source"] == {"kind": "text", "filename": None, "content_type": None, "url": None}
    assert one["metadata"] == {"batch": tag, "region": "US"}
    made = (await acme.get(f"/v1/tasks/{one['task_id']}/result")).json()
    assert made["result"]["document_id"] == ids[0]
    # Another tenant sees none of them.
    theirs = (await globex.get("/v1/rag/documents", params={"metadata": f"batch={tag}"})).json()
    assert theirs["items"] == []


async def test_another_tenant_gets_404_on_every_document_endpoint(acme, globex) -> None:
    document = await submit(acme, "Acme only", "Acme's private price list: steel at 610 a tonne.")
    unknown = uuid.uuid4().hex
    for target in (document, unknown):
        assert (await globex.get(f"/v1/rag/documents/{target}")).status_code == 404
        assert (await globex.delete(f"/v1/rag/documents/{target}")).status_code == 404
        refused = await globex.post(f"/v1/rag/documents/{target}/reindex")
        assert refused.status_code == 404
        assert refused.json() == {"code": "not_found", "message": f"document {target} not found"}
    listed = (await globex.get("/v1/rag/documents", params={"limit": 200})).json()["items"]
    assert document not in {d["id"] for d in listed}
    # Untouched for its owner.
    assert (await acme.get(f"/v1/rag/documents/{document}")).json()["status"] == "indexed"


async def test_reindex_replaces_the_version_and_unchanged_content_is_a_no_op(
    acme, docs: Docs
) -> None:
    tag = uuid.uuid4().hex[:8]
    docs.site.body = f"Warehouse {tag} closes at 17:00 on Fridays for inbound trucks.".encode()
    url = f"http://127.0.0.1:{docs.site.port}/hours-{tag}.txt"
    response = await acme.post("/v1/rag/documents", json={"title": f"Hours {tag}", "url": url})
    assert response.status_code == 202, response.text
    document = response.json()["document_id"]
    assert (await finished(acme, response.json()["task_id"]))["status"] == "succeeded"
    first = (await acme.get(f"/v1/rag/documents/{document}")).json()
    assert first["version"] == 1 and first["source"]["url"] == url

    # Same content again: the task ends at once and the version stays.
    same = await acme.post(f"/v1/rag/documents/{document}/reindex")
    assert same.status_code == 202 and same.headers["Location"] == (
        f"/v1/tasks/{same.json()['task_id']}"
    )
    done = await finished(acme, same.json()["task_id"])
    assert done["status"] == "succeeded"
    result = (await acme.get(f"/v1/tasks/{done['id']}/result")).json()["result"]
    assert result["unchanged"] is True and result["document_id"] == document
    assert (await acme.get(f"/v1/rag/documents/{document}")).json()["version"] == 1

    # Changed content: a new version, switched when complete; the old text is gone.
    docs.site.body = f"Warehouse {tag} now closes at 15:00 on Fridays.".encode()
    changed = await acme.post(f"/v1/rag/documents/{document}/reindex")
    assert changed.status_code == 202
    assert changed.json()["document_id"] == document and changed.json()["created"] is True
    assert (await finished(acme, changed.json()["task_id"]))["status"] == "succeeded"
    second = (await acme.get(f"/v1/rag/documents/{document}")).json()
    # Versions count ingests (the no-op took one), so the new one is 3.
    assert second["version"] == 3 and second["task_id"] == changed.json()["task_id"]
    chunks = await docs.db["chunks"].find({"document_id": document}).to_list()
    assert chunks and all("15:00" in c["text"] for c in chunks)
    assert all(c["version"] == 3 for c in chunks)


async def test_a_deleted_document_is_never_cited_again_by_either_replica(acme, docs: Docs) -> None:
    tag = uuid.uuid4().hex[:8]
    doomed = await submit(
        acme,
        f"Battery rules {tag}",
        f"{SHARED}\n\nPallets for customer {tag} must carry the class 9 hazard label.",
    )
    keeper = await submit(
        acme, f"Carrier handbook {tag}", f"{SHARED}\n\nCarrier {tag} collects on Tuesdays."
    )
    question = f"Which documents does a lithium battery shipment for customer {tag} need?"
    stack = docs.stack

    # Both replicas load the tenant (each RPC goes to one of them) and cite the document.
    cited: set[str] = set()
    async with asyncio.timeout(60):
        while True:
            answers = await asyncio.gather(*(ask(acme, question) for _ in range(4)))
            cited |= set().union(*answers)
            loaded = [await index_chunks(stack, r, ACME) for r in REPLICAS]
            if doomed in cited and all(n is not None and n > 0 for n in loaded):
                break
    before = {r: await index_chunks(stack, r, ACME) for r in REPLICAS}
    chunk_count = (await acme.get(f"/v1/rag/documents/{doomed}")).json()["chunk_count"]
    assert chunk_count >= 1

    sent_at = time.time()
    deleted = await acme.delete(f"/v1/rag/documents/{doomed}")
    returned, returned_at = time.perf_counter(), time.time()
    assert deleted.status_code == 204, deleted.text
    # Each replica's index must lose the document's chunks within the bound.
    observed: dict[str, float] = {}
    async with asyncio.timeout(PROPAGATION_TIMEOUT):
        while len(observed) < len(REPLICAS):
            counts = await asyncio.gather(*(index_chunks(stack, r, ACME) for r in REPLICAS))
            for replica, now in zip(REPLICAS, counts, strict=True):
                gone = now is not None and now <= before[replica] - chunk_count
                if gone and replica not in observed:
                    observed[replica] = time.perf_counter() - returned
    # The precise time each replica dropped it, from its own log (same clock).
    dropped = {r: dropped_at(stack, r, doomed) - returned_at for r in REPLICAS}
    print(
        "\ndelete propagation, replica drop minus DELETE return: "
        + ", ".join(f"{r} {s * 1000:+.1f} ms" for r, s in sorted(dropped.items()))
        + f" (DELETE took {(returned_at - sent_at) * 1000:.1f} ms)"
        + f"; bound {max(0.0, *dropped.values()) * 1000:.1f} ms; seen via /metrics within "
        + f"{max(observed.values()) * 1000:.0f} ms"
    )

    # From here on no answer, from either replica, cites it; the other document's copy
    # of the shared paragraph is still there and still cited.
    answers = await asyncio.gather(*(ask(acme, question) for _ in range(12)))
    assert all(doomed not in a for a in answers), answers
    assert any(keeper in a for a in answers), answers
    assert (await acme.get(f"/v1/rag/documents/{doomed}")).status_code == 404
    listed = (await acme.get("/v1/rag/documents", params={"limit": 200})).json()["items"]
    assert doomed not in {d["id"] for d in listed}
    # A repeated delete is safe (announced again), and the purge empties the store.
    assert (await acme.delete(f"/v1/rag/documents/{doomed}")).status_code == 204
    async with asyncio.timeout(30):
        while await docs.db["chunks"].count_documents({"document_id": doomed}):
            await asyncio.sleep(0.1)
    assert await docs.db["vectors"].count_documents({"document_id": doomed}) == 0
    kept = await docs.db["chunks"].find({"document_id": keeper}).to_list()
    assert any(SHARED in c["text"] for c in kept)


async def test_deleting_a_document_while_it_ingests_cancels_it_and_nothing_comes_back(
    acme, docs: Docs
) -> None:
    tag = uuid.uuid4().hex[:8]
    text = " ".join(
        f"Paragraph {n} of the long manual {tag} about pallet stacking." for n in range(400)
    )
    response = await acme.post("/v1/rag/documents", json={"title": f"Manual {tag}", "text": text})
    accepted = response.json()
    document, task_id = accepted["document_id"], accepted["task_id"]
    # Wait until its ingest has started (the document is `queued` before), then delete
    # it midway.
    async with asyncio.timeout(60):
        while (await acme.get(f"/v1/rag/documents/{document}")).json()["status"] == "queued":
            assert (await acme.get(f"/v1/tasks/{task_id}")).json()["status"] != "succeeded"
            await asyncio.sleep(0.02)
    assert (await acme.delete(f"/v1/rag/documents/{document}")).status_code == 204
    task = await finished(acme, task_id)
    record = await docs.db["documents"].find_one({"_id": document})
    assert record is not None and record["status"] == "deleted"
    if task["status"] == "succeeded":  # it won the race: it must have ended before the delete
        ended = datetime.fromisoformat(task["finished_at"].replace("Z", "+00:00"))
        assert ended <= record["deleted_at"]
    else:
        assert task["status"] == "cancelled", task
    # Late batches and the purge have settled: nothing of it is left, and it stays gone.
    async with asyncio.timeout(30):
        while await docs.db["chunks"].count_documents({"document_id": document}) or (
            await docs.db["vectors"].count_documents({"document_id": document})
        ):
            await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # any batch still in flight lands (and voids itself) now
    assert await docs.db["vectors"].count_documents({"document_id": document}) == 0
    assert (await acme.get(f"/v1/rag/documents/{document}")).status_code == 404
