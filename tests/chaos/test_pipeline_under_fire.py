"""The promise, under fire: 200 documents through the public API while workers are
SIGKILLed, the broker is stopped and started, and the database is frozen for a minute.

Every task must end `succeeded`, every chunk stored once with exactly one vector, no
message left in a work queue or a parking lot, every service alive. The tier prints its
figures so a reader sees the numbers, not only a green dot."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aio_pika
import httpx
import pytest

from tests.support.stack import ROOT, Stack, isolated_stack
from tradebus_storage import MongoSettings, create_client

# The faults alone take ~70 s (a 40 s database freeze among them, eight times the driver's
# server selection timeout); the whole run ~2.5 min.
pytestmark = [pytest.mark.chaos, pytest.mark.timeout(900)]

DOCUMENTS = 140
KILLS = 5
FREEZE_SECONDS = 40
KEY = "tb_chaos_" + uuid.uuid4().hex
WORKERS = ("omnirag-ingest", "omnirag-embed-1", "omnirag-embed-2")
WORK_QUEUES = ("omnirag-ingest.ingest", "omnirag-embed.embed")


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


def _mongo_pid() -> int:
    pidfile = ROOT / ".run" / "mongo.pid"
    assert pidfile.exists(), (
        "the chaos tier freezes the embedded MongoDB: run it through `make test` "
        "(scripts/with-infra.sh starts the server and writes .run/mongo.pid)"
    )
    return int(pidfile.read_text().strip())


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    env = {
        "TRADEBUS_BOOTSTRAP_API_KEY": KEY,
        # Small batches and a narrow embed intake: the run lasts long enough for every
        # fault to land mid-flight.
        "TRADEBUS_OMNIRAG_INGEST_EMBED_BATCH_SIZE": "2",
        "TRADEBUS_OMNIRAG_INGEST_CHUNK_MAX_TOKENS": "48",
        "TRADEBUS_OMNIRAG_INGEST_CHUNK_OVERLAP_TOKENS": "8",
        "TRADEBUS_OMNIRAG_EMBED_PREFETCH": "2",
        "TRADEBUS_OMNIRAG_EMBED_CONCURRENCY": "2",
        # The admission limit is not under test here.
        "TRADEBUS_GATEWAY_INGEST_BACKLOG_FLOOR": "100000",
        "TRADEBUS_GATEWAY_TENANT_RATE_PER_SECOND": "1000",
        "TRADEBUS_GATEWAY_TENANT_BURST": "1000",
    }
    services = [("gateway", "gateway"), ("omnirag-ingest", "omnirag-ingest")]
    services += [("omnirag-embed-1", "omnirag-embed"), ("omnirag-embed-2", "omnirag-embed")]
    async with isolated_stack(
        "chaos",
        base_port=18_700,
        logs=tmp_path_factory.mktemp("chaos-logs"),
        env=env,
        services=services,
    ) as stack:
        yield stack


def document_text(n: int) -> str:
    sentences = [
        f"Lot {n}-{i}: the buyer in market {n % 17} pays {i + n} percent on delivery "
        f"of shipment {n * 31 + i}, insured under clause {i % 5} of frame contract {n}."
        for i in range(12)
    ]
    return "\n\n".join(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))


async def test_every_task_succeeds_once_through_kills_broker_restart_and_db_freeze(
    stack: Stack, figures: Callable[[str], None]
) -> None:
    rng = random.Random(20261202)
    numbers: dict[str, Any] = {"documents": DOCUMENTS, "kills": 0}
    gateway = stack.processes["gateway"].url
    async with httpx.AsyncClient(
        base_url=gateway, headers={"Authorization": f"Bearer {KEY}"}, timeout=120
    ) as api:
        started = time.monotonic()
        tasks: dict[str, str] = {}
        for n in range(DOCUMENTS):
            response = await api.post(
                "/v1/rag/documents",
                json={"title": f"Contract {n}", "text": document_text(n)},
            )
            assert response.status_code == 202, response.text
            tasks[response.json()["task_id"]] = response.json()["document_id"]

        faults = asyncio.create_task(_inject_faults(stack, rng, numbers))
        try:
            await faults
        finally:
            _restore_infrastructure()
        faults_over = time.monotonic()
        statuses = await _wait_terminal(api, list(tasks), timeout=600)
        numbers["seconds"] = round(time.monotonic() - started, 1)
        numbers["recovery_after_last_fault_s"] = round(time.monotonic() - faults_over, 1)

    client = create_client(MongoSettings())
    db = client[stack.database]
    try:
        counts: dict[str, int] = {}
        for status in statuses.values():
            counts[status["status"]] = counts.get(status["status"], 0) + 1
        numbers["tasks"] = counts
        failed = {t: s for t, s in statuses.items() if s["status"] != "succeeded"}
        assert not failed, f"{len(failed)} tasks did not succeed: {list(failed.values())[:3]}"

        duplicate_chunks = 0
        total_chunks = 0
        vectorless = 0
        extra_vectors = 0
        for task_id, document in tasks.items():
            result = statuses[task_id].get("result") or {}
            chunks = await db["chunks"].find({"document_id": document}, {"index": 1}).to_list()
            indexes = [c["index"] for c in chunks]
            total_chunks += len(chunks)
            duplicate_chunks += len(indexes) - len(set(indexes))
            if result.get("chunk_count") is not None:
                assert len(chunks) == result["chunk_count"], (document, result)
            # Vectors are stored per embed batch, each row naming its chunk.
            batches = (
                await db["vectors"]
                .find({"document_id": document, "indexed": True}, {"chunk_ids": 1})
                .to_list()
            )
            ids = [cid for batch in batches for cid in batch["chunk_ids"]]
            extra_vectors += len(ids) - len(set(ids))
            vectorless += len({c["_id"] for c in chunks} - set(ids))
        numbers.update(
            chunks=total_chunks,
            duplicate_chunks=duplicate_chunks,
            chunks_without_vector=vectorless,
            duplicate_vectors=extra_vectors,
        )
        assert duplicate_chunks == 0 and vectorless == 0 and extra_vectors == 0

        left, parked = await _queue_counts(stack.env["RABBITMQ_URL"])
        numbers.update(left_in_work_queues=left, parked=parked)
        assert left == 0 and parked == 0

        async with httpx.AsyncClient(timeout=5) as probe:
            for process in stack.processes.values():
                assert process.proc is not None and process.proc.returncode is None, process.name
                health = await probe.get(process.url + "/healthz")
                assert health.status_code == 200, (process.name, health.text)
    finally:
        await client.close()
        figures(f"chaos tier: {numbers}")


async def _inject_faults(stack: Stack, rng: random.Random, numbers: dict[str, Any]) -> None:
    """Five SIGKILLs spread over the run, a broker stop/start and a database freeze."""

    async def kill_one(*, wait: bool = True) -> None:
        name = rng.choice(WORKERS)
        await stack.kill(name)
        numbers["kills"] += 1
        await asyncio.sleep(0.5)
        await stack.start(name, wait=wait)

    await asyncio.sleep(1.0)
    await kill_one()
    await asyncio.sleep(1.0)
    await kill_one()

    broker_down = time.monotonic()
    _rabbitmqctl("stop_app")
    await asyncio.sleep(3)
    _rabbitmqctl("start_app")
    _rabbitmqctl("await_startup")
    await _wait_ready(stack)
    numbers["broker_recovery_s"] = round(time.monotonic() - broker_down, 1)

    await kill_one()
    pid = _mongo_pid()
    frozen = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(FREEZE_SECONDS / 2)
        # A worker dies while the database is frozen; its successor waits for it.
        await kill_one(wait=False)
        await asyncio.sleep(FREEZE_SECONDS / 2)
    finally:
        os.kill(pid, signal.SIGCONT)
    numbers["db_frozen_s"] = round(time.monotonic() - frozen, 1)
    await _wait_ready(stack)
    await kill_one()


def _restore_infrastructure() -> None:
    """Whatever happened above, the broker and the database answer again."""
    with contextlib.suppress(Exception):
        os.kill(_mongo_pid(), signal.SIGCONT)
    with contextlib.suppress(Exception):
        _rabbitmqctl("start_app")
        _rabbitmqctl("await_startup")


async def _wait_ready(stack: Stack, timeout: float = 120) -> None:
    for process in stack.processes.values():
        await stack.wait_ready(process, timeout=timeout)


async def _wait_terminal(
    api: httpx.AsyncClient, task_ids: list[str], timeout: float
) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    while True:
        for task_id in [t for t in task_ids if t not in done]:
            task = (await api.get(f"/v1/tasks/{task_id}")).json()
            if task["status"] in {"succeeded", "failed", "cancelled"}:
                if task["status"] == "succeeded":
                    task["result"] = (
                        (await api.get(f"/v1/tasks/{task_id}/result")).json().get("result")
                    )
                done[task_id] = task
        if len(done) == len(task_ids):
            return done
        if time.monotonic() > deadline:
            pending = [t for t in task_ids if t not in done]
            raise AssertionError(f"{len(pending)} tasks not terminal after {timeout}s")
        await asyncio.sleep(1)


async def _queue_counts(amqp_url: str) -> tuple[int, int]:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        left = parked = 0
        for queue in WORK_QUEUES:
            declared = await channel.declare_queue(queue, passive=True)
            left += int(declared.declaration_result.message_count or 0)
            lot = await channel.declare_queue(f"{queue}.dlq", passive=True)
            parked += int(lot.declaration_result.message_count or 0)
        return left, parked
    finally:
        await connection.close()
