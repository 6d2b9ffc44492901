"""(b) dealbrain ask latency idle, then while a bulk ingestion of ~50,000 chunks runs.

Real gateway, omnirag-ingest, omnirag-embed (hashing embedder) and dealbrain processes
(extractive answers, BM25 rerank: no external calls), each stack in its own vhost and
database. The asking tenant's knowledge base is the sample documents; the bulk documents
belong to another tenant, so both windows retrieve over the same chunks and what differs
is the load on the shared machine, broker and database."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.ingest.__main__ import document
from tests.support.stack import Stack
from tests.support.vhost import isolated_vhost
from tradebus_gateway.auth import ApiKeyRepository
from tradebus_knowledge import chunk_text, normalize
from tradebus_storage import MongoSettings, create_client

from .load import Latency, measure

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "documents"
KEY, BULK_KEY = "tb_bench_ask_" + uuid.uuid4().hex, "tb_bench_bulk_" + uuid.uuid4().hex
NICE = 19
# The embedded development database, when `make` started it (scripts/mongo.sh).
MONGO_PIDFILE = ROOT / ".run" / "mongo.pid"
QUESTIONS = [
    "Which sanctions lists must a new overseas supplier be screened against?",
    "What payment terms do new international customers start on?",
    "Who pays import duty under DAP?",
    "When is a confirmed letter of credit required?",
    "Which goods need an export licence?",
]


@dataclass(frozen=True)
class Window:
    label: str
    latency: Latency  # at the client, through the gateway
    retrieve: Latency  # dealbrain's own stages, from the replies' latency_ms
    total: Latency
    embedded: tuple[float, float] | None = None  # share of bulk chunks with vectors: start, end


@dataclass(frozen=True)
class Result:
    windows: list[Window]
    chunks: int  # in the bulk ingestion
    asks: int
    concurrency: int


def bulk_documents(target_chunks: int, words: int = 10_000) -> tuple[list[str], int]:
    """bench-ingest's generated documents (every chunk unique), as many as make about
    `target_chunks` chunks: they are alike in length, so the first one's count (by the
    ingest worker's chunker at its defaults) stands for each."""
    rng = random.Random(7)
    first = document(rng, words)
    per_document = len(chunk_text(normalize(first)))
    count = -(-target_chunks // per_document)
    return [first, *(document(rng, words) for _ in range(count - 1))], count * per_document


def _stage(stages: list[dict[str, float]], name: str) -> Latency:
    return Latency.of([s.get(name, 0.0) / 1000 for s in stages])


def _renice(stack: Stack, name: str, nice: int) -> None:
    proc = stack.processes[name].proc
    assert proc is not None
    _renice_pid(proc.pid, nice)


def _renice_pid(pid: int, nice: int) -> None:
    """Every thread of the process (Linux keeps a nice value per thread)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.setpriority(os.PRIO_PROCESS, int(task.name), nice)


def _renice_embedded_mongo(nice: int) -> bool:
    """The embedded database too: in production it runs on hosts of its own, and warm
    asks never touch it, so on this one shared host it is batch-side load."""
    try:
        pid = int(MONGO_PIDFILE.read_text())
        _renice_pid(pid, nice)
    except (OSError, ValueError):
        return False
    return True


def ask_body(n: int) -> dict[str, Any]:
    return {"question": QUESTIONS[n % len(QUESTIONS)], "top_k": 5}


async def run(*, asks: int, concurrency: int, chunks: int, logs: Path) -> Result:
    texts, total = await asyncio.to_thread(bulk_documents, chunks)
    database = f"bench_online_{uuid.uuid4().hex[:8]}"
    async with isolated_vhost("bench-online-ingest") as amqp_url:
        stack = Stack(
            database=database,
            base_port=18_520,
            logs=logs,
            env={
                "RABBITMQ_URL": amqp_url,
                "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
                "TRADEBUS_LOG_LEVEL": "WARNING",
                "TRADEBUS_GATEWAY_TENANT_RATE_PER_SECOND": "1000000",
                "TRADEBUS_GATEWAY_TENANT_BURST": "1000000",
                "TRADEBUS_GATEWAY_INGEST_BACKLOG_FLOOR": "100000",
                "TRADEBUS_EMBED_PROVIDER": "hashing",
            },
        )
        for service in ("gateway", "omnirag-ingest", "omnirag-embed", "dealbrain"):
            stack.add(service, service)
        client = create_client(MongoSettings())
        db = client[database]
        try:
            await stack.start_all()
            keys = ApiKeyRepository(db)
            await keys.create_tenant("bulk")
            await keys.add_key("bulk", BULK_KEY)
            gateway = stack.processes["gateway"].url
            auth = {"Authorization": f"Bearer {KEY}"}
            async with httpx.AsyncClient(base_url=gateway, headers=auth, timeout=60) as api:
                await _ingest_samples(api)

            async def window(label: str) -> Window:
                before = await _embedded_share(db, total)
                answers: list[bytes] = []
                latency = await measure(
                    gateway,
                    "/v1/dealbrain/ask",
                    ask_body,
                    requests=asks,
                    concurrency=concurrency,
                    headers=auth,
                    answers=answers,
                )
                after = await _embedded_share(db, total)
                stages = [json.loads(a)["latency_ms"] for a in answers]
                result = Window(
                    label,
                    latency,
                    _stage(stages, "retrieve"),
                    _stage(stages, "total"),
                    None if label == "idle" else (before, after),
                )
                print(
                    f"  {label:<48} p50 {latency.p50_ms:6.1f} ms  p99 {latency.p99_ms:6.1f} ms"
                    f"  (dealbrain total p99 {result.total.p99_ms:6.1f} ms, retrieve p99 "
                    f"{result.retrieve.p99_ms:6.1f} ms; bulk embedded {before:.0%} → {after:.0%})",
                    flush=True,
                )
                return result

            windows = [await window("idle")]
            await _submit_bulk(gateway, texts)
            windows.append(await window("during ingestion"))
            # What an operator sharing one host can do: the batch tier yields the CPU (on
            # Kubernetes, separate pods with CPU requests do this).
            for name in ("omnirag-ingest", "omnirag-embed"):
                _renice(stack, name, NICE)
            label = f"during ingestion, batch workers at nice {NICE}"
            windows.append(await window(label))
            if _renice_embedded_mongo(NICE):
                try:
                    windows.append(await window(label + " and the embedded database too"))
                finally:
                    _renice_embedded_mongo(0)
            for name in ("omnirag-ingest", "omnirag-embed"):
                _renice(stack, name, 0)
            return Result(windows, total, asks, concurrency)
        finally:
            await stack.stop_all()
            await client.drop_database(database)
            await client.close()


async def _ingest_samples(api: httpx.AsyncClient) -> None:
    types = {".md": "text/markdown", ".txt": "text/plain", ".html": "text/html"}
    task_ids = []
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix in types:
            response = await api.post(
                "/v1/rag/documents",
                files={"file": (path.name, path.read_bytes(), types[path.suffix])},
            )
            response.raise_for_status()
            task_ids.append(response.json()["task_id"])
    async with asyncio.timeout(120):
        for task_id in task_ids:
            while (await api.get(f"/v1/tasks/{task_id}")).json()["status"] != "succeeded":
                await asyncio.sleep(0.2)


async def _submit_bulk(gateway: str, texts: list[str]) -> None:
    """Submit every bulk document (four at a time); returns once all are accepted."""
    started = time.perf_counter()
    queue = list(enumerate(texts))
    headers = {"Authorization": f"Bearer {BULK_KEY}"}
    async with httpx.AsyncClient(base_url=gateway, headers=headers, timeout=60) as api:

        async def submitter() -> None:
            while queue:
                i, text = queue.pop()
                response = await api.post(
                    "/v1/rag/documents", json={"title": f"bulk {i}", "text": text}
                )
                response.raise_for_status()

        await asyncio.gather(*(submitter() for _ in range(4)))
    print(
        f"  submitted {len(texts)} bulk documents in {time.perf_counter() - started:.1f}s",
        flush=True,
    )


async def _embedded_share(db: Any, chunks: int) -> float:
    """Share of the bulk chunks that have a vector (embed batches written so far)."""
    embedded = 0
    async for batch in db["vectors"].find({"tenant_id": "bulk"}, {"chunk_ids": 1}):
        embedded += len(batch.get("chunk_ids") or ())
    return embedded / chunks
